/**
 * The disagreements clients generated from the OpenAPI document met (issue: "Generated clients
 * must be able to trust the document"), each checked both ways: what the document refuses, the
 * server refuses with 422; what the document allows, the server takes past validation.
 */
import { Validator } from '@cfworker/json-schema'
import { describe, expect, it } from 'vitest'
import headersFile from '../public/_headers?raw'
import { buildOpenApiDocument } from '../src/openapi/document'
import wranglerToml from '../wrangler.toml?raw'
import { call } from './helpers/api'
import { emulator } from './helpers/emulator'
import { type TestEnv, testEnv } from './helpers/env'
import { exchange, newUser, type User } from './helpers/linking'
import { testRateLimiter } from './helpers/rate-limiter'

type Schema = {
  type?: string | string[]
  properties?: Record<string, Schema>
  items?: Schema
  maxLength?: number
  maxItems?: number
  anyOf?: unknown
  oneOf?: unknown
}
const document = buildOpenApiDocument()
const schemas = document.components.schemas as Record<string, Schema>
const PATH = '/api/v1/banking/exchange-token'
/**
 * A well-formed public token Plaid does not know, new each time (a token is claimed once it is
 * presented): a body that passes validation reaches Plaid, which answers 400.
 */
const unknownToken = () => `public-sandbox-${crypto.randomUUID()}`

const documentAllows = (name: string, value: unknown) =>
  new Validator({ $ref: `#/components/schemas/${name}`, components: document.components }, '2020-12', false).validate(
    value,
  ).valid

/** A fresh user per case, with a limiter that never refuses: every answer here is the schema's. */
const setup = async (): Promise<{ env: TestEnv; user: User }> => ({
  env: testEnv({ PLAID_RATE_LIMITER: testRateLimiter(10_000).binding }),
  user: await newUser(),
})

/** Whether the server's schema took the body: it got as far as asking Plaid about the token. */
async function serverAccepts({ env, user }: { env: TestEnv; user: User }, body: Record<string, unknown>) {
  const res = await call(env, 'POST', PATH, { token: user.token, body: { public_token: unknownToken(), ...body } })
  if (res.status === 422) return false
  expect(res.status, res.text).toBe(400)
  expect(res.body.error_code, res.text).toBe('INVALID_PUBLIC_TOKEN')
  return true
}

/** A body (its public token aside), checked against both the document and the server. */
async function expectAgreement(body: Record<string, unknown>, accepted: boolean) {
  const what = JSON.stringify(body).slice(0, 200)
  expect(documentAllows('ExchangeTokenRequest', { public_token: unknownToken(), ...body }), `document: ${what}`).toBe(
    accepted,
  )
  expect(await serverAccepts(await setup(), body), `server: ${what}`).toBe(accepted)
}

const account = { id: 'acc-1', name: 'Plaid Checking', mask: '0000', type: 'depository', subtype: 'checking' }

describe('the OpenAPI document and the server agree on POST /exchange-token', () => {
  it('refuses metadata and institution together (the document says so with `not`)', async () => {
    const institution = { institution_id: 'ins_109508', name: 'First Platypus Bank' }
    await expectAgreement({ metadata: { institution }, institution }, false)
    await expectAgreement({ metadata: { institution } }, true)
    await expectAgreement({ institution }, true)
    // Null is "not sent": with the other one, it is not both.
    await expectAgreement({ metadata: null, institution }, true)
  })

  it('refuses more accounts than the document’s maxItems, and takes exactly that many', async () => {
    const max = schemas.LinkSuccessMetadata?.properties?.accounts?.maxItems as number
    expect(max).toBeGreaterThan(0)
    const accounts = (n: number) => Array.from({ length: n }, (_, i) => ({ ...account, id: `acc-${i}` }))
    await expectAgreement({ metadata: { accounts: accounts(max + 1) } }, false)
    await expectAgreement({ metadata: { accounts: accounts(max) } }, true)
  })

  it('states every length limit the server checks in Link’s metadata, and the server keeps to each', async () => {
    const accountFields = schemas.LinkSuccessMetadata?.properties?.accounts?.items?.properties ?? {}
    const cases: (readonly [
      field: string,
      max: number | undefined,
      body: (value: string) => Record<string, unknown>,
    ])[] = [
      ...Object.entries(schemas.LinkInstitution?.properties ?? {}).flatMap(([field, schema]) => [
        [`institution.${field}`, schema.maxLength, (value: string) => ({ institution: { [field]: value } })] as const,
        [
          `metadata.institution.${field}`,
          schema.maxLength,
          (value: string) => ({ metadata: { institution: { [field]: value } } }),
        ] as const,
      ]),
      ...Object.entries(accountFields).map(
        ([field, schema]) =>
          [
            `metadata.accounts.0.${field}`,
            schema.maxLength,
            (value: string) => ({ metadata: { accounts: [{ ...account, [field]: value }] } }),
          ] as const,
      ),
      ...['link_session_id', 'transfer_status'].map(
        (field) =>
          [
            `metadata.${field}`,
            schemas.LinkSuccessMetadata?.properties?.[field]?.maxLength,
            (value: string) => ({ metadata: { [field]: value } }),
          ] as const,
      ),
    ]
    // Both institution fields, six account fields, the session id and transfer status.
    expect(cases.map(([field]) => field)).toHaveLength(2 * 2 + 6 + 2)
    for (const [field, max, body] of cases) {
      expect(max, `${field} has a maxLength`).toBeGreaterThan(0)
      await expectAgreement(body('x'.repeat((max as number) + 1)), false)
      await expectAgreement(body('x'.repeat(max as number)), true)
    }
  })

  it('refuses arrays where the document says object: metadata, institution, and their parts', async () => {
    for (const body of [
      { metadata: [] },
      { institution: [] },
      { metadata: { institution: [] } },
      { metadata: { accounts: [[]] } },
    ]) {
      await expectAgreement(body, false)
    }
  })

  it('takes metadata: null, documented as nullable, and links the Item (201)', async () => {
    const body = { public_token: unknownToken(), metadata: null }
    expect(documentAllows('ExchangeTokenRequest', body)).toBe(true)
    const { env, user } = await setup()
    const res = await exchange(env, user, await emulator.publicToken(env), { metadata: null })
    expect(res.status, res.text).toBe(201)
  })

  it('requires of Link’s institution and accounts what the document requires: an account’s name, nothing else', async () => {
    await expectAgreement({ metadata: { institution: {}, accounts: [{ name: 'A' }] } }, true)
    await expectAgreement({ institution: {} }, true)
    await expectAgreement({ metadata: { accounts: [{ id: 'acc-1', mask: '0000' }] } }, false)
    // Such a body links the Item.
    const { env, user } = await setup()
    const res = await exchange(env, user, await emulator.publicToken(env), {
      metadata: { institution: { name: 'First Platypus Bank' }, accounts: [{ name: 'Plaid Checking' }] },
    })
    expect(res.status, res.text).toBe(201)
  })
})

describe('the OpenAPI document types what generated clients send', () => {
  it('describes the link-token body as an object (openapi-typescript no longer makes it `unknown`)', async () => {
    const linkToken = schemas.LinkTokenRequest as Schema
    expect(linkToken.type).toBe('object')
    // No anyOf or oneOf branch without a type: such a branch is what turned the body into `unknown`.
    expect(linkToken.anyOf).toBeUndefined()
    expect(linkToken.oneOf).toBeUndefined()
    const { env, user } = await setup()
    for (const [body, status] of [
      [{ account_selection: true }, 422],
      [{ account_selection: false }, 200],
      [{}, 200],
    ] as const) {
      expect(documentAllows('LinkTokenRequest', body), JSON.stringify(body)).toBe(status === 200)
      const res = await call(env, 'POST', '/api/v1/banking/link-token', { token: user.token, body })
      expect(res.status, JSON.stringify(body)).toBe(status)
    }
  })
})

describe('paths the document does not list', () => {
  it('answers 404 for every documented path with a trailing slash, with any method', async () => {
    const { env, user } = await setup()
    const paths = Object.entries(document.paths as Record<string, Record<string, unknown>>)
    for (const [template, operations] of [...paths, ['/healthz', { get: {} }] as const]) {
      const path = `${template.replace('{item_id}', 'item-1').replace('{user_id}', 'user-1')}/`
      for (const method of [...Object.keys(operations), 'put']) {
        const res = await call(env, method.toUpperCase(), path, { token: user.token })
        expect(res.status, `${method} ${path}`).toBe(404)
        expect(res.body, `${method} ${path}`).toEqual({ detail: 'not found' })
        expect(res.headers.get('X-Request-Id')).toBeTruthy()
      }
    }
    // Without the slash, the same paths are served (and a wrong method still answers 405).
    expect((await call(env, 'GET', '/readyz')).status).toBe(200)
    expect((await call(env, 'PUT', '/api/v1/banking/items', { token: user.token })).status).toBe(405)
  })
})

describe('where the document is served', () => {
  it('is a static asset of wrangler.toml’s [assets] directory, readable from any origin', () => {
    expect(wranglerToml).toMatch(/^\[assets\]\ndirectory = "\.\/public"$/m)
    expect(headersFile).toMatch(/^\/api\/v1\/openapi\.json\n {2}Access-Control-Allow-Origin: \*$/m)
  })

  it('is no route of the Worker: the Worker never loads it', async () => {
    expect((await call(testEnv(), 'GET', '/api/v1/openapi.json')).status).toBe(404)
  })
})
