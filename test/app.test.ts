import { describe, expect, it } from 'vitest'
import { mintToken } from './helpers/tokens'
import { call, testEnv } from './helpers/worker'

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

  it('gives no CORS headers to an origin that is not listed', async () => {
    const res = await call(testEnv(), 'OPTIONS', '/api/v1/banking/link-token', {
      headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
    })
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })

  it('sets CORS headers on answers and on errors for an allowed origin', async () => {
    const env = testEnv()
    const ok = await call(env, 'POST', '/api/v1/banking/link-token', {
      token: await mintToken(),
      headers: { Origin: 'https://app.example.com' },
    })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com')
    const denied = await call(env, 'POST', '/api/v1/banking/link-token', {
      headers: { Origin: 'https://app.example.com' },
    })
    expect(denied.status).toBe(401)
    expect(denied.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com')
  })
})
