import { Validator } from '@cfworker/json-schema'
import { describe, expect, it } from 'vitest'
import { app } from '../src/app'
import { openApiDocument } from '../src/openapi'
import { itemIdOf, linkItem, newUser } from './helpers/linking'
import { testRateLimiter } from './helpers/rate-limiter'
import { mintToken } from './helpers/tokens'
import { type CallResult, call, emulator, type TestEnv, testEnv } from './helpers/worker'

const UNDOCUMENTED = new Set(['/healthz', '/api/v1/openapi.json'])

type Operation = {
  responses: Record<string, { content?: Record<string, { schema: object }>; headers?: Record<string, unknown> }>
}
const paths = openApiDocument.paths as unknown as Record<string, Record<string, Operation>>

/**
 * Checks one real answer against the document: its status is documented for the operation, its
 * body validates against the documented schema, and documented headers are present.
 */
function expectDocumented(method: string, template: string, res: CallResult) {
  const operation = paths[template]?.[method.toLowerCase()]
  expect(operation, `${method} ${template} is documented`).toBeDefined()
  const documented = operation?.responses[String(res.status)]
  expect(documented, `${method} ${template} documents ${res.status} (${res.text})`).toBeDefined()
  const schema = documented?.content?.['application/json']?.schema
  if (!schema) {
    expect(res.text).toBe('')
    return
  }
  const validator = new Validator({ ...schema, components: openApiDocument.components }, '2020-12', false)
  const result = validator.validate(res.body)
  expect(result.errors, `${method} ${template} ${res.status}: ${res.text}`).toEqual([])
  for (const header of Object.keys(documented?.headers ?? {})) expect(res.headers.get(header)).not.toBeNull()
}

describe('GET /api/v1/openapi.json', () => {
  it('documents exactly the routes the app serves', async () => {
    const res = await call(testEnv(), 'GET', '/api/v1/openapi.json')
    expect(res.status).toBe(200)
    const served = res.body.paths as Record<string, Record<string, unknown>>
    const documented = Object.entries(served).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    const routes = app.routes
      .filter((r) => r.method !== 'ALL' && !UNDOCUMENTED.has(r.path))
      .map((r) => `${r.method} ${r.path}`)
    expect([...new Set(routes)].sort()).toEqual(documented.sort())
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
