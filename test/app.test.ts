import { describe, expect, it } from 'vitest'
import { api, call } from './helpers/api'
import { testEnv } from './helpers/env'
import { mintToken } from './helpers/tokens'

/** A rate limiter whose budget is spent, so any Plaid route answers 429 at once. */
const spentLimiter = { limit: async () => ({ success: false }) } as unknown as RateLimit

describe('routing and CORS', () => {
  it('answers 404 in the JSON shape for an unknown route', async () => {
    const res = await call(testEnv(), 'GET', '/api/v1/banking/nope')
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ detail: 'not found' })
  })

  it('answers 405 with Allow for a known path and the wrong method', async () => {
    const res = await call(testEnv(), 'GET', '/api/v1/banking/link-token')
    expect(res.status).toBe(405)
    expect(res.body).toEqual({ detail: 'method not allowed' })
    expect(res.headers.get('Allow')).toContain('POST')
  })

  it('answers a preflight from an allowed origin', async () => {
    const res = await call(testEnv(), 'OPTIONS', '/api/v1/banking/link-token', {
      headers: {
        Origin: 'https://app.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com')
    expect(res.headers.get('Access-Control-Allow-Methods')).toContain('POST')
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('authorization')
  })

  it('lets an allowed origin send its own X-Request-Id', async () => {
    const res = await call(testEnv(), 'OPTIONS', '/api/v1/banking/link-token', {
      headers: {
        Origin: 'https://app.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,x-request-id',
      },
    })
    expect(res.status).toBe(204)
    const allowed = (res.headers.get('Access-Control-Allow-Headers') ?? '').toLowerCase().split(',')
    expect(allowed.map((h) => h.trim())).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'x-request-id']),
    )
  })

  it('exposes Retry-After and X-Request-Id to an allowed origin, on a 429 too', async () => {
    const env = testEnv({ PLAID_RATE_LIMITER: spentLimiter })
    const res = await api.linkToken(env, await mintToken(), {
      headers: { Origin: 'https://app.example.com', 'X-Request-Id': 'frontend-trace-7' },
    })
    expect(res.status).toBe(429)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com')
    expect(res.headers.get('Retry-After')).toBe('60')
    expect(res.headers.get('X-Request-Id')).toBe('frontend-trace-7')
    const exposed = (res.headers.get('Access-Control-Expose-Headers') ?? '').toLowerCase().split(',')
    expect(exposed.map((h) => h.trim())).toEqual(expect.arrayContaining(['retry-after', 'x-request-id']))

    const ok = await call(env, 'GET', '/healthz', { headers: { Origin: 'https://app.example.com' } })
    expect(ok.headers.get('Access-Control-Expose-Headers')?.toLowerCase()).toContain('x-request-id')
  })

  it('exposes nothing to an origin that is not listed', async () => {
    const env = testEnv({ PLAID_RATE_LIMITER: spentLimiter })
    const res = await api.linkToken(env, await mintToken(), { headers: { Origin: 'https://evil.example.com' } })
    expect(res.status).toBe(429)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(res.headers.get('Access-Control-Expose-Headers')).toBeNull()
    const preflight = await call(env, 'OPTIONS', '/api/v1/banking/link-token', {
      headers: {
        Origin: 'https://evil.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-request-id',
      },
    })
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(preflight.headers.get('Access-Control-Expose-Headers')).toBeNull()
  })

  it('gives no CORS headers to an origin that is not listed', async () => {
    const res = await call(testEnv(), 'OPTIONS', '/api/v1/banking/link-token', {
      headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
    })
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })

  it('gives the second of two configured origins the CORS headers, on the preflight and the request', async () => {
    const env = testEnv({ ALLOWED_ORIGINS: 'https://app.example.com,https://admin.example.com' })
    const origin = 'https://admin.example.com'
    const preflight = await call(env, 'OPTIONS', '/api/v1/banking/link-token', {
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe(origin)
    expect(preflight.headers.get('Access-Control-Allow-Methods')).toBe('GET,POST,DELETE,OPTIONS')
    expect(preflight.headers.get('Access-Control-Allow-Headers')).toBe('Authorization,Content-Type,X-Request-Id')
    expect(preflight.headers.get('Access-Control-Max-Age')).toBe('600')
    const res = await api.linkToken(env, await mintToken(), { headers: { Origin: origin } })
    expect(res.status).toBe(200)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin)
    expect(res.headers.get('Access-Control-Expose-Headers')).toBe('Retry-After,X-Request-Id')
    expect(res.headers.get('Vary')).toBe('Origin')
  })

  it('sets CORS headers on answers and on errors for an allowed origin', async () => {
    const env = testEnv()
    const ok = await api.linkToken(env, await mintToken(), { headers: { Origin: 'https://app.example.com' } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com')
    const denied = await api.linkToken(env, undefined, { headers: { Origin: 'https://app.example.com' } })
    expect(denied.status).toBe(401)
    expect(denied.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com')
  })
})
