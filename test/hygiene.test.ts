import { describe, expect, it } from 'vitest'
import { newUser } from './helpers/linking'
import { captureLogs } from './helpers/logs'
import { call, testEnv } from './helpers/worker'

describe('request hygiene', () => {
  it('gives every answer an X-Request-Id, and keeps a sane one the caller sent', async () => {
    const env = testEnv()
    const fresh = await call(env, 'GET', '/healthz')
    expect(fresh.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/)
    const mine = await call(env, 'GET', '/healthz', { headers: { 'X-Request-Id': 'frontend-abc-123' } })
    expect(mine.headers.get('X-Request-Id')).toBe('frontend-abc-123')
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
      call(testEnv(), 'GET', '/api/v1/banking/items', { headers: { 'X-Request-Id': 'trace-me-42' } }),
    )
    expect(result.status).toBe(401)
    expect(JSON.parse(logs.split('\n')[0] as string)).toMatchObject({ request_id: 'trace-me-42', status: 401 })
  })

  it('sets security headers and no-store on answers and errors alike', async () => {
    const env = testEnv()
    for (const res of [
      await call(env, 'GET', '/api/v1/banking/items', { token: (await newUser()).token }),
      await call(env, 'GET', '/api/v1/banking/items'),
      await call(env, 'GET', '/nope'),
    ]) {
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(res.headers.get('Strict-Transport-Security')).toMatch(/max-age=/)
      expect(res.headers.get('Content-Security-Policy')).toContain("default-src 'none'")
      expect(res.headers.get('X-Frame-Options')).toBeTruthy()
      expect(res.headers.get('Cache-Control')).toBe('no-store')
    }
  })

  it('checks the JSON content type and size of the webhook body too', async () => {
    const env = testEnv()
    const wrongType = await call(env, 'POST', '/api/v1/banking/webhooks', {
      headers: { 'Content-Type': 'text/plain', 'Plaid-Verification': 'x.y.z' },
      body: '{}',
    })
    expect(wrongType.status).toBe(415)
    expect(Object.keys(wrongType.body)).toEqual(['detail'])
  })
})
