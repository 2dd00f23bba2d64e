import { describe, expect, it } from 'vitest'
import { api, type CallOptions, call } from './helpers/api'
import { emulator } from './helpers/emulator'
import { type TestEnv, testEnv } from './helpers/env'
import { newUser } from './helpers/linking'
import { captureLogs } from './helpers/logs'

const UUID = /^[0-9a-f-]{36}$/
const LINK_TOKEN = '/api/v1/banking/link-token'
/** A rate limiter whose budget is spent, so any Plaid route answers 429 at once. */
const spentLimiter = { limit: async () => ({ success: false }) } as unknown as RateLimit
/** A JSON object of about `bytes` bytes. */
const jsonOfSize = (bytes: number) => JSON.stringify({ pad: 'a'.repeat(bytes) })

type Case = {
  status: number
  env?: () => TestEnv
  method: string
  path: string
  options?: (token: string) => CallOptions
}

const everyKindOfAnswer: Array<[string, Case]> = [
  ['404 unknown route', { status: 404, method: 'GET', path: '/api/v1/banking/nope' }],
  ['405 wrong method', { status: 405, method: 'GET', path: LINK_TOKEN }],
  ['401 no bearer token', { status: 401, method: 'GET', path: '/api/v1/banking/items' }],
  [
    '413 body too large',
    { status: 413, method: 'POST', path: LINK_TOKEN, options: (token) => ({ token, body: jsonOfSize(17 * 1024) }) },
  ],
  [
    '415 not JSON',
    {
      status: 415,
      method: 'POST',
      path: LINK_TOKEN,
      options: (token) => ({ token, body: '{}', headers: { 'Content-Type': 'text/plain' } }),
    },
  ],
  [
    '422 unknown field',
    { status: 422, method: 'POST', path: LINK_TOKEN, options: (token) => ({ token, body: { nope: 1 } }) },
  ],
  [
    '429 over the rate limit',
    {
      status: 429,
      env: () => testEnv({ PLAID_RATE_LIMITER: spentLimiter }),
      method: 'POST',
      path: LINK_TOKEN,
      options: (token) => ({ token }),
    },
  ],
  [
    '500 misconfigured setting',
    {
      status: 500,
      env: () => testEnv({ PLAID_TIMEOUT_MS: 'soon' }),
      method: 'POST',
      path: LINK_TOKEN,
      options: (token) => ({ token }),
    },
  ],
  [
    '204 CORS preflight',
    {
      status: 204,
      method: 'OPTIONS',
      path: LINK_TOKEN,
      options: () => ({
        headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' },
      }),
    },
  ],
]

describe('request hygiene', () => {
  it('gives every answer an X-Request-Id, and keeps a sane one the caller sent', async () => {
    const env = testEnv()
    const fresh = await call(env, 'GET', '/healthz')
    expect(fresh.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/)
    const mine = await call(env, 'GET', '/healthz', { headers: { 'X-Request-Id': 'frontend-abc-123' } })
    expect(mine.headers.get('X-Request-Id')).toBe('frontend-abc-123')
  })

  it.each(everyKindOfAnswer)('gives a %s an X-Request-Id, and keeps a sane one the caller sent', async (_, c) => {
    const env = c.env?.() ?? testEnv()
    const options = c.options?.((await newUser()).token) ?? {}
    const fresh = await call(env, c.method, c.path, options)
    expect(fresh.status).toBe(c.status)
    expect(fresh.headers.get('X-Request-Id')).toMatch(UUID)

    const id = `caller-${c.status}-${crypto.randomUUID()}`
    const mine = await call(env, c.method, c.path, { ...options, headers: { ...options.headers, 'X-Request-Id': id } })
    expect(mine.status).toBe(c.status)
    expect(mine.headers.get('X-Request-Id')).toBe(id)
  })

  it.each([
    ['with spaces and quotes', 'abc "def"'],
    ['too long', 'a'.repeat(300)],
    ['with a line break', 'abc%0d%0aSet-Cookie:x'],
  ])('replaces a caller X-Request-Id %s', async (_, value) => {
    const res = await call(testEnv(), 'GET', '/healthz', { headers: { 'X-Request-Id': value } })
    expect(res.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('puts the request id in the log line of a failure', async () => {
    const { result, logs } = await captureLogs(() =>
      api.items(testEnv(), undefined, { headers: { 'X-Request-Id': 'trace-me-42' } }),
    )
    expect(result.status).toBe(401)
    expect(JSON.parse(logs.split('\n')[0] as string)).toMatchObject({ request_id: 'trace-me-42', status: 401 })
  })

  it('sets security headers and no-store on answers and errors alike', async () => {
    const env = testEnv()
    for (const res of [
      await api.items(env, (await newUser()).token),
      await api.items(env, undefined),
      await call(env, 'GET', '/nope'),
    ]) {
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(res.headers.get('Strict-Transport-Security')).toMatch(/max-age=/)
      expect(res.headers.get('Content-Security-Policy')).toContain("default-src 'none'")
      expect(res.headers.get('X-Frame-Options')).toBe('SAMEORIGIN')
      expect(res.headers.get('Cache-Control')).toBe('no-store')
    }
  })

  it('refuses a link-token body over 16 KB with 413, before Plaid is called', async () => {
    const env = testEnv()
    const res = await api.linkToken(env, (await newUser()).token, { body: jsonOfSize(16 * 1024) })
    expect(res.status).toBe(413)
    expect(res.body).toEqual({ detail: 'request body is larger than 16 KB' })
    expect((await emulator.calls(env))['/link/token/create']).toBeUndefined()
  })

  it('checks the JSON content type and size of the webhook body too', async () => {
    const env = testEnv()
    const wrongType = await api.webhook(env, {
      headers: { 'Content-Type': 'text/plain', 'Plaid-Verification': 'x.y.z' },
      body: '{}',
    })
    expect(wrongType.status).toBe(415)
    expect(Object.keys(wrongType.body)).toEqual(['detail'])

    const tooLarge = await api.webhook(env, { headers: { 'Plaid-Verification': 'x.y.z' }, body: jsonOfSize(64 * 1024) })
    expect(tooLarge.status).toBe(413)
    expect(tooLarge.body).toEqual({ detail: 'request body is larger than 64 KB' })

    // Webhooks have their own, larger limit: a body over the 16 KB of the other routes gets as
    // far as the signature check (and fails it, being unsigned).
    const overUserLimit = await api.webhook(env, {
      headers: { 'Plaid-Verification': 'x.y.z' },
      body: jsonOfSize(20 * 1024),
    })
    expect(overUserLimit.status).toBe(401)
  })
})
