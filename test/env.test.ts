import { describe, expect, it } from 'vitest'
import type { Bindings } from '../src/env'
import { mintToken } from './helpers/tokens'
import { call, emulator, testEnv } from './helpers/worker'

const PATH = '/api/v1/banking/link-token'

async function linkToken(overrides: Partial<Bindings>) {
  const env = testEnv(overrides)
  const res = await call(env, 'POST', PATH, { token: await mintToken() })
  return { res, calls: await emulator.calls(env) }
}

describe('settings', () => {
  it.each<[string, Partial<Bindings>, RegExp]>([
    [
      'PLAID_SECRET is missing',
      { PLAID_SECRET: undefined },
      /PLAID_SECRET is not set; run `wrangler secret put PLAID_SECRET`/,
    ],
    ['PLAID_SECRET is blank', { PLAID_SECRET: '   ' }, /PLAID_SECRET is not set/],
    ['PLAID_CLIENT_ID is missing', { PLAID_CLIENT_ID: '' }, /PLAID_CLIENT_ID is not set/],
    [
      'PLAID_SECRET has a trailing space',
      { PLAID_SECRET: 'emulator-secret ' },
      /PLAID_SECRET has leading or trailing spaces or quotes; store the bare value/,
    ],
    [
      'PLAID_CLIENT_ID is quoted',
      { PLAID_CLIENT_ID: '"abc123"' },
      /PLAID_CLIENT_ID has leading or trailing spaces or quotes/,
    ],
    [
      'PLAID_ENV is development',
      { PLAID_ENV: 'development' },
      /PLAID_ENV=development was decommissioned by Plaid in June 2024; use sandbox or production/,
    ],
    ['PLAID_ENV is unknown', { PLAID_ENV: 'staging' }, /PLAID_ENV must be sandbox or production/],
    [
      'PLAID_PRODUCTS has an unknown product',
      { PLAID_PRODUCTS: 'transactions,banana' },
      /PLAID_PRODUCTS contains unknown product "banana"/,
    ],
    [
      'PLAID_PRODUCTS has an empty entry',
      { PLAID_PRODUCTS: 'transactions,,auth' },
      /PLAID_PRODUCTS has an empty entry/,
    ],
    [
      'PLAID_COUNTRY_CODES has an unknown code',
      { PLAID_COUNTRY_CODES: 'US,XX' },
      /PLAID_COUNTRY_CODES contains unknown country code "XX"/,
    ],
    [
      'PLAID_COUNTRY_CODES is lower case',
      { PLAID_COUNTRY_CODES: 'us' },
      /PLAID_COUNTRY_CODES contains unknown country code "us"/,
    ],
    ['PLAID_LANGUAGE is unknown', { PLAID_LANGUAGE: 'klingon' }, /PLAID_LANGUAGE must be one of/],
    [
      'PLAID_CLIENT_NAME is over 30 characters',
      { PLAID_CLIENT_NAME: 'A Very Long Application Name Indeed' },
      /PLAID_CLIENT_NAME is longer than 30 characters/,
    ],
    ['PLAID_CLIENT_NAME is missing', { PLAID_CLIENT_NAME: undefined }, /PLAID_CLIENT_NAME is not set/],
    [
      'PLAID_WEBHOOK_URL is not a URL',
      { PLAID_WEBHOOK_URL: 'not a url' },
      /PLAID_WEBHOOK_URL is not a valid absolute URL/,
    ],
    [
      'PLAID_WEBHOOK_URL is plain http',
      { PLAID_WEBHOOK_URL: 'http://api.example.com/hook' },
      /PLAID_WEBHOOK_URL must be an https:\/\/ URL/,
    ],
    ['PLAID_BASE_URL is malformed', { PLAID_BASE_URL: 'plaid' }, /PLAID_BASE_URL is not a valid absolute URL/],
    [
      'PLAID_TIMEOUT_MS is over 10 s',
      { PLAID_TIMEOUT_MS: '20000' },
      /PLAID_TIMEOUT_MS must be a whole number of milliseconds from 1 to 10000/,
    ],
    ['JWT_ALG is RS256', { JWT_ALG: 'RS256' }, /JWT_ALG must be one of HS256, HS384, HS512/],
  ])('answers 500 naming the setting when %s, and does not call Plaid', async (_, overrides, detail) => {
    const { res, calls } = await linkToken(overrides)
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/^Failed to create link token: server misconfigured: /)
    expect(res.body.detail).toMatch(detail)
    expect(calls).toEqual({})
  })

  it('never shows the value of a malformed secret', async () => {
    const { res } = await linkToken({ PLAID_SECRET: ' s3cr3t-value ' })
    expect(res.status).toBe(500)
    expect(res.text).not.toContain('s3cr3t-value')
  })

  it('names every bad setting at once', async () => {
    const { res } = await linkToken({ PLAID_SECRET: undefined, PLAID_ENV: 'development' })
    expect(res.body.detail).toMatch(/PLAID_ENV=development/)
    expect(res.body.detail).toMatch(/PLAID_SECRET is not set/)
  })

  it('answers 500 (not 401) when JWT_SECRET is missing on a deployed Worker', async () => {
    const env = testEnv({ JWT_SECRET: undefined })
    const res = await call(env, 'POST', PATH, { token: await mintToken() })
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/JWT_SECRET is not set; run `wrangler secret put JWT_SECRET`/)
  })

  it('answers 500 when JWT_SECRET is shorter than the hash (RFC 7518)', async () => {
    const env = testEnv({ JWT_SECRET: 'short' })
    const res = await call(env, 'POST', PATH, { token: await mintToken({}, { secret: 'short' }) })
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/JWT_SECRET is too short for HS256; use at least 32 bytes/)
    expect(res.text).not.toContain('"short"')
  })

  it('does not fall back to the emulator or a dev secret without LOCAL_DEV', async () => {
    const { res } = await linkToken({ PLAID_CLIENT_ID: undefined, PLAID_SECRET: undefined, PLAID_BASE_URL: undefined })
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/PLAID_CLIENT_ID is not set.*PLAID_SECRET is not set/)
  })

  it('accepts several products and country codes', async () => {
    const { res } = await linkToken({ PLAID_PRODUCTS: 'transactions, auth,identity', PLAID_COUNTRY_CODES: 'US,CA' })
    expect(res.status).toBe(200)
  })
})

describe('which Plaid host the settings pick', () => {
  const hostFor = async (overrides: Partial<Bindings>) => {
    const env = testEnv({ PLAID_BASE_URL: undefined, ...overrides })
    const res = await call(env, 'POST', PATH, { token: await mintToken() })
    return res.body.detail
  }

  it('uses Plaid Sandbox by default', async () => {
    expect(await hostFor({})).toBe('Failed to create link token: request went to sandbox.plaid.com')
  })

  it('uses Plaid Production with PLAID_ENV=production', async () => {
    expect(await hostFor({ PLAID_ENV: 'production' })).toBe(
      'Failed to create link token: request went to production.plaid.com',
    )
  })

  it('uses the local emulator in local development without Plaid credentials', async () => {
    expect(await hostFor({ LOCAL_DEV: 'true', PLAID_CLIENT_ID: '', PLAID_SECRET: undefined })).toBe(
      'Failed to create link token: request went to 127.0.0.1:8788',
    )
  })

  it("uses Plaid's Sandbox in local development once .dev.vars has Sandbox credentials", async () => {
    expect(await hostFor({ LOCAL_DEV: 'true', PLAID_ENV: 'sandbox' })).toBe(
      'Failed to create link token: request went to sandbox.plaid.com',
    )
  })
})
