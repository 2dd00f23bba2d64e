import { Validator } from '@cfworker/json-schema'
import { describe, expect, it } from 'vitest'
import committed from '../public/api/v1/openapi.json'
import { app } from '../src/app'
import { buildOpenApiDocument } from '../src/openapi/document'
import { type CallResult, call } from './helpers/api'
import { emulator } from './helpers/emulator'
import { type TestEnv, testEnv } from './helpers/env'
import { itemIdOf, linkItem, newUser } from './helpers/linking'
import { testRateLimiter } from './helpers/rate-limiter'
import { mintToken } from './helpers/tokens'

const UNDOCUMENTED = new Set(['/healthz'])
/** What the build writes to public/api/v1/openapi.json, served there as a static asset. */
const openApiDocument = buildOpenApiDocument()

type Documented = { content?: Record<string, { schema: object }>; headers?: Record<string, unknown> }
type Operation = {
  summary?: string
  parameters?: ({ name: string; in: string; schema: object } | { $ref: string })[]
  responses: Record<string, Documented>
}
const paths = openApiDocument.paths as unknown as Record<string, Record<string, Operation>>
const components = openApiDocument.components as unknown as {
  responses: Record<string, Documented>
  schemas: Record<string, object>
}

const validates = (schema: object, value: unknown) =>
  new Validator({ ...schema, components: openApiDocument.components }, '2020-12', false).validate(value).valid
/** The schema of a query parameter of an operation. */
const queryParam = (template: string, name: string) =>
  (paths[template]?.get?.parameters ?? []).find((p) => 'name' in p && p.name === name && p.in === 'query') as
    | { schema: object }
    | undefined

/**
 * Checks one real answer against the document: its status is documented for the operation, its
 * body validates against the documented schema, and documented headers are present.
 */
function expectDocumented(method: string, template: string, res: CallResult) {
  const operation = paths[template]?.[method.toLowerCase()]
  expect(operation, `${method} ${template} is documented`).toBeDefined()
  expectAnswer(operation?.responses[String(res.status)], `${method} ${template}`, res)
}

function expectAnswer(documented: Documented | undefined, what: string, res: CallResult) {
  expect(documented, `${what} documents ${res.status} (${res.text})`).toBeDefined()
  const schema = documented?.content?.['application/json']?.schema
  if (!schema) {
    expect(res.text).toBe('')
    return
  }
  const validator = new Validator({ ...schema, components: openApiDocument.components }, '2020-12', false)
  const result = validator.validate(res.body)
  expect(result.errors, `${what} ${res.status}: ${res.text}`).toEqual([])
  for (const header of Object.keys(documented?.headers ?? {})) expect(res.headers.get(header)).not.toBeNull()
}

describe('GET /api/v1/openapi.json', () => {
  it('is served from the committed file, which is what src/openapi/ builds (npm run openapi)', () => {
    // When this fails: npm run openapi, and commit public/api/v1/openapi.json.
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument)))
  })

  it('documents exactly the routes the app serves', async () => {
    const served = openApiDocument.paths as Record<string, Record<string, unknown>>
    const documented = Object.entries(served).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    const routes = app.routes
      .filter((r) => r.method !== 'ALL' && !UNDOCUMENTED.has(r.path))
      .map((r) => `${r.method} ${r.path}`)
    expect([...new Set(routes)].sort()).toEqual(documented.sort())
  })

  it('gives every operation a summary, X-Request-Id as a parameter and on every answer, and a server', () => {
    expect(openApiDocument.servers).toEqual([{ url: '/', description: 'This Worker' }])
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.summary, `${method} ${path}`).toMatch(/\w/)
        expect(operation.parameters, `${method} ${path}`).toContainEqual({ $ref: '#/components/parameters/RequestId' })
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(response.headers, `${method} ${path} ${status}`).toHaveProperty('X-Request-Id')
        }
      }
    }
  })

  it('refuses in its schemas the input the server refuses', async () => {
    const env = testEnv()
    const user = await newUser()
    const linkToken = components.schemas.LinkTokenRequest as object
    const exchange = components.schemas.ExchangeTokenRequest as object
    const cases: [schema: object, path: string, body: unknown][] = [
      [linkToken, '/api/v1/banking/link-token', { account_selection: true }],
      [linkToken, '/api/v1/banking/link-token', { item_id: 'x'.repeat(129) }],
      [linkToken, '/api/v1/banking/link-token', { item_id: "a'b" }],
      [linkToken, '/api/v1/banking/link-token', { item_id: '' }],
      [exchange, '/api/v1/banking/exchange-token', { public_token: 'public-sandbox-' }],
      [exchange, '/api/v1/banking/exchange-token', { public_token: 'public-sandbox-abc def' }],
      [exchange, '/api/v1/banking/exchange-token', { public_token: 'public-development-abc' }],
    ]
    for (const [schema, path, body] of cases) {
      expect(validates(schema, body), JSON.stringify(body)).toBe(false)
      const res = await call(env, 'POST', path, { token: user.token, body })
      expect(res.status, JSON.stringify(body)).toBe(422)
    }
    // What the server accepts, the schemas accept too.
    expect(validates(linkToken, { account_selection: false })).toBe(true)
    expect(validates(linkToken, { item_id: 'Ab_9-x', account_selection: true })).toBe(true)
    expect(validates(exchange, { public_token: 'public-sandbox-5c224a01-8314-4491-a06f-39e193d5cddc' })).toBe(true)

    const transactions = '/api/v1/banking/transactions'
    const query: [name: string, value: string][] = [
      ['item_id', 'x'.repeat(129)],
      ['account_id', 'a b'],
      ['start_date', '2024-02-31'],
      ['end_date', '2023-02-29'],
      ['cursor', 'c'.repeat(513)],
    ]
    for (const [name, value] of query) {
      const schema = queryParam(transactions, name)?.schema as object
      expect(validates(schema, value), `${name}=${value}`).toBe(false)
      const res = await call(env, 'GET', `${transactions}?${name}=${value}`, { token: user.token })
      expect(res.status, `${name}=${value}`).toBe(422)
    }
    expect(validates(queryParam(transactions, 'start_date')?.schema as object, '2024-02-29')).toBe(true)
  })

  it("documents Link's onSuccess metadata as an alternative to institution", () => {
    const exchange = components.schemas.ExchangeTokenRequest as object
    const metadata = {
      institution: { name: 'First Platypus Bank', institution_id: 'ins_109508' },
      accounts: [
        {
          id: 'vzeNDwK7KQIm4yEog683uElbp9GRLEFXGK98D',
          name: 'Plaid Checking',
          mask: '0000',
          type: 'depository',
          subtype: 'checking',
          verification_status: null,
        },
      ],
      link_session_id: '79e772be-547d-4c9c-8b76-4ac4ed4c441a',
      transfer_status: null,
    }
    const publicToken = 'public-sandbox-5c224a01-8314-4491-a06f-39e193d5cddc'
    expect(validates(exchange, { public_token: publicToken, metadata })).toBe(true)
    expect(validates(exchange, { public_token: publicToken, metadata: { ...metadata, institution: null } })).toBe(true)
    const badAccount = { ...metadata.accounts[0], mask: 0 }
    expect(validates(exchange, { public_token: publicToken, metadata: { ...metadata, accounts: [badAccount] } })).toBe(
      false,
    )
    expect(paths['/api/v1/banking/exchange-token']?.post?.responses['409']).toMatchObject({
      description: expect.stringContaining('same institution with an account of the same name and mask'),
    })
  })

  it('describes the answers no operation lists: 404 for an unknown path, 405 with Allow, /readyz', async () => {
    const env = testEnv()
    expectAnswer(components.responses.NotFound, 'an unknown path', await call(env, 'GET', '/api/v1/nope'))
    const wrongMethod = await call(env, 'PUT', '/api/v1/banking/items')
    expect(wrongMethod.status).toBe(405)
    expectAnswer(components.responses.MethodNotAllowed, 'a wrong method', wrongMethod)
    expect(wrongMethod.headers.get('Allow')).toBe('OPTIONS, GET, HEAD')
    expectDocumented('GET', '/readyz', await call(env, 'GET', '/readyz'))
    const notReady = await call(testEnv({ PLAID_SECRET: undefined }), 'GET', '/readyz')
    expect(notReady.status).toBe(503)
    expectDocumented('GET', '/readyz', notReady)
  })

  it('describes what each route really answers: every status and body seen is documented and valid', async () => {
    // A limiter whose window cannot end half-way, so the walk below is sure to reach a 429.
    const env: TestEnv = testEnv({ PLAID_RATE_LIMITER: testRateLimiter().binding })
    const user = await newUser()
    const expired = await mintToken({ sub: user.id, exp: Math.floor(Date.now() / 1000) - 60 })
    const seen: string[] = []
    const check = async (method: string, template: string, path: string, options = {}) => {
      const res = await call(env, method, path, options)
      expectDocumented(method, template, res)
      seen.push(`${method} ${template} ${res.status}`)
      return res
    }
    const auth = { token: user.token }

    await check('POST', '/api/v1/banking/link-token', '/api/v1/banking/link-token', auth)
    await check('POST', '/api/v1/banking/link-token', '/api/v1/banking/link-token', { token: expired })
    await check('POST', '/api/v1/banking/link-token', '/api/v1/banking/link-token', { ...auth, body: '{' })
    await check('POST', '/api/v1/banking/link-token', '/api/v1/banking/link-token', { ...auth, body: { x: 1 } })
    await check('POST', '/api/v1/banking/link-token', '/api/v1/banking/link-token', {
      ...auth,
      body: 'a',
      headers: { 'Content-Type': 'text/plain' },
    })
    await check('POST', '/api/v1/banking/link-token', '/api/v1/banking/link-token', {
      ...auth,
      body: { item_id: 'x'.repeat(17_000) },
    })
    await check('POST', '/api/v1/banking/link-token', '/api/v1/banking/link-token', {
      ...auth,
      body: { item_id: 'unknown' },
    })

    const linked = await linkItem(env, user)
    expectDocumented('POST', '/api/v1/banking/exchange-token', linked)
    const itemId = itemIdOf(linked)
    await check('POST', '/api/v1/banking/exchange-token', '/api/v1/banking/exchange-token', {
      ...auth,
      body: { public_token: await emulator.publicToken(env) },
    }) // 409: the institution is already linked
    await check('POST', '/api/v1/banking/exchange-token', '/api/v1/banking/exchange-token', {
      ...auth,
      body: { public_token: 'public-sandbox-00000000-0000-0000-0000-000000000000' },
    }) // 400: Plaid does not know the token

    const item = `/api/v1/banking/items/${itemId}`
    await check('GET', '/api/v1/banking/items', '/api/v1/banking/items', auth)
    await check('GET', '/api/v1/banking/items/{item_id}', item, auth)
    await check('GET', '/api/v1/banking/items/{item_id}', '/api/v1/banking/items/missing', auth)
    await check('GET', '/api/v1/banking/items/{item_id}', "/api/v1/banking/items/a'b", auth)
    await check('POST', '/api/v1/banking/items/{item_id}/refresh', `${item}/refresh`, auth)
    await emulator.changeTransactions(env, itemId, { add: 3 })
    await check('POST', '/api/v1/banking/items/{item_id}/sync', `${item}/sync`, auth)
    await check('GET', '/api/v1/banking/transactions', '/api/v1/banking/transactions?limit=2', auth)
    await check('GET', '/api/v1/banking/transactions', '/api/v1/banking/transactions?limit=0', auth)
    await check('GET', '/api/v1/banking/transactions', '/api/v1/banking/transactions?item_id=missing', auth)
    await check('GET', '/api/v1/banking/accounts', '/api/v1/banking/accounts', auth)
    await check('GET', '/api/v1/banking/accounts', `/api/v1/banking/accounts?refresh=true&item_id=${itemId}`, auth)
    await check('GET', '/api/v1/banking/accounts', '/api/v1/banking/accounts?refresh=maybe', auth)
    await check('GET', '/api/v1/banking/accounts', '/api/v1/banking/accounts?item_id=missing', auth)
    await check('POST', '/api/v1/banking/webhooks', '/api/v1/banking/webhooks', { body: { webhook_type: 'ITEM' } })
    await check('POST', '/api/v1/banking/webhooks', '/api/v1/banking/webhooks', {
      body: 'x',
      headers: { 'Content-Type': 'text/plain' },
    })

    // Spend the rest of the user's budget of Plaid-bound requests, then one more.
    let limited: CallResult | undefined
    for (let i = 0; i < 40 && limited?.status !== 429; i++) {
      limited = await check('POST', '/api/v1/banking/items/{item_id}/refresh', `${item}/refresh`, auth)
    }
    expect(limited?.status).toBe(429)

    await check('DELETE', '/api/v1/banking/items/{item_id}', item, auth)
    await check('DELETE', '/api/v1/banking/items/{item_id}', item, auth)

    // The walk above reached these answers (a typo in it would silently check less).
    for (const answer of [
      'POST /api/v1/banking/link-token 200',
      'POST /api/v1/banking/link-token 400',
      'POST /api/v1/banking/link-token 401',
      'POST /api/v1/banking/link-token 404',
      'POST /api/v1/banking/link-token 413',
      'POST /api/v1/banking/link-token 415',
      'POST /api/v1/banking/link-token 422',
      'POST /api/v1/banking/exchange-token 400',
      'POST /api/v1/banking/exchange-token 409',
      'GET /api/v1/banking/items/{item_id} 404',
      'GET /api/v1/banking/items/{item_id} 422',
      'POST /api/v1/banking/items/{item_id}/refresh 429',
      'POST /api/v1/banking/items/{item_id}/sync 200',
      'GET /api/v1/banking/transactions 200',
      'GET /api/v1/banking/transactions 404',
      'GET /api/v1/banking/transactions 422',
      'GET /api/v1/banking/accounts 422',
      'POST /api/v1/banking/webhooks 401',
      'POST /api/v1/banking/webhooks 415',
      'DELETE /api/v1/banking/items/{item_id} 204',
      'DELETE /api/v1/banking/items/{item_id} 404',
    ]) {
      expect(seen).toContain(answer)
    }
  })
})
