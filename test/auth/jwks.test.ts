import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { jwksClock } from '../../src/auth/jwks'
import { api } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import type { TestEnv } from '../helpers/env'
import { mintToken, now } from '../helpers/tokens'
import { idpEnv, idpToken, jwksFault, jwksFetches, rotateKey } from './identity-provider'

/** Just past the cache's interval between fetches. */
const REFETCH_INTERVAL_MS = 60_000 + 1

// The JWKS cache reads this clock; tests move it forward instead of waiting minutes.
let clockOffsetMs = 0
const advanceClock = (ms: number) => {
  clockOffsetMs += ms
}
beforeAll(() => {
  jwksClock.now = () => Date.now() + clockOffsetMs
})
beforeEach(() => {
  clockOffsetMs = 0
})
afterAll(() => {
  jwksClock.now = () => Date.now()
})

/** 401 with the reason, and Plaid not called for it. */
async function expect401(env: TestEnv, token: string, detail: string) {
  const before = await emulator.calls(env)
  const res = await api.linkToken(env, token)
  expect(res.status).toBe(401)
  expect(res.body).toEqual({ detail })
  expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
  expect(await emulator.calls(env)).toEqual(before)
}

describe('bearer tokens from an identity provider (JWT_JWKS_URL)', () => {
  it.each(['RS256', 'ES256'] as const)('accepts a %s token signed by a key in the JWKS', async (alg) => {
    const { env, tenant } = idpEnv()
    const res = await api.linkToken(env, await idpToken(tenant, alg))
    expect(res.status).toBe(200)
  })

  it('caches the keys: many requests, one JWKS fetch', async () => {
    const { env, tenant } = idpEnv()
    for (let i = 0; i < 5; i++) {
      expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
    }
    expect(await jwksFetches(tenant)).toBe(1)
  })

  it('refuses a token signed with a rotated-in key within the refetch interval, with one JWKS fetch in all', async () => {
    const { env, tenant } = idpEnv()
    expect((await api.linkToken(env, await idpToken(tenant, 'ES256'))).status).toBe(200)
    await rotateKey(tenant, 'ES256')
    // Within the refetch interval a new kid is not looked up again: it is unknown for now.
    await expect401(env, await idpToken(tenant, 'ES256'), 'token signing key is not known')
    expect(await jwksFetches(tenant)).toBe(1)
  })

  it('accepts a token signed with a rotated-in key once the refetch interval has passed, with one more fetch', async () => {
    const { env, tenant } = idpEnv()
    expect((await api.linkToken(env, await idpToken(tenant, 'ES256'))).status).toBe(200)
    await rotateKey(tenant, 'ES256')
    const rotated = await idpToken(tenant, 'ES256')
    await expect401(env, rotated, 'token signing key is not known')
    expect(await jwksFetches(tenant)).toBe(1)

    advanceClock(REFETCH_INTERVAL_MS)
    expect((await api.linkToken(env, rotated)).status).toBe(200)
    expect(await jwksFetches(tenant)).toBe(2)
    // The refetched keys serve the next requests: old and new keys alike, no further fetch.
    expect((await api.linkToken(env, await idpToken(tenant, 'ES256'))).status).toBe(200)
    expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
    expect(await jwksFetches(tenant)).toBe(2)
  })

  it('re-reads the keys after 10 minutes even when every kid is known', async () => {
    const { env, tenant } = idpEnv()
    expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
    advanceClock(9 * 60_000)
    expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
    expect(await jwksFetches(tenant)).toBe(1)
    advanceClock(60_000 + 1)
    expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
    expect(await jwksFetches(tenant)).toBe(2)
  })

  it('does not refetch for every unknown kid (no amplification)', async () => {
    const { env, tenant } = idpEnv()
    await api.linkToken(env, await idpToken(tenant, 'RS256'))
    for (let i = 0; i < 5; i++) {
      await expect401(
        env,
        await idpToken(tenant, 'RS256', {}, { kid: `made-up-${i}` }),
        'token signing key is not known',
      )
    }
    expect(await jwksFetches(tenant)).toBe(1)
  })

  it('answers 401 for a token signed by a key the JWKS does not list under that kid', async () => {
    const { env, tenant } = idpEnv()
    await api.linkToken(env, await idpToken(tenant, 'RS256'))
    const listedKid = (await idpToken(tenant, 'RS256')).split('.')[0] as string
    const kid = JSON.parse(atob(listedKid.replace(/-/g, '+').replace(/_/g, '/'))).kid
    await expect401(env, await idpToken(tenant, 'RS256', {}, { kid, unlisted: true }), 'token signature is invalid')
  })

  it('answers 401 for an algorithm that is not allowed, before fetching any key', async () => {
    const { env, tenant } = idpEnv({ JWT_ALG: 'RS256' })
    await expect401(env, await idpToken(tenant, 'ES256'), 'token algorithm is not accepted')
    await expect401(env, await mintToken({}), 'token algorithm is not accepted')
    expect(await jwksFetches(tenant)).toBe(0)
  })

  it('applies the same claim rules: exp required, expiry, issuer, audience, sub', async () => {
    const { env, tenant } = idpEnv()
    await expect401(env, await idpToken(tenant, 'RS256', { exp: undefined }), 'token has no exp claim')
    // Expired longer ago than the clock skew allowed by default (JWT_CLOCK_SKEW_SECONDS, 60 s).
    await expect401(env, await idpToken(tenant, 'RS256', { exp: now() - 120 }), 'token has expired')
    await expect401(env, await idpToken(tenant, 'RS256', { iss: 'https://evil.test/' }), 'token issuer is not accepted')
    await expect401(env, await idpToken(tenant, 'RS256', { aud: 'other' }), 'token audience is not accepted')
    await expect401(env, await idpToken(tenant, 'RS256', { sub: '' }), 'token has no sub claim (the user id)')
  })

  describe('when the identity provider is down', () => {
    it('answers 500 naming the setting, and does not fetch again within the interval', async () => {
      const { env, tenant } = idpEnv()
      await jwksFault(tenant, { status: 503 })
      for (let i = 0; i < 3; i++) {
        const before = await emulator.calls(env)
        const res = await api.linkToken(env, await idpToken(tenant, 'RS256'))
        expect(res.status).toBe(500)
        expect(res.body).toEqual({
          detail: "Failed to create link token: the identity provider's keys (JWT_JWKS_URL) could not be fetched",
        })
        expect(await emulator.calls(env)).toEqual(before)
      }
      // The failed fetch counts as the interval's attempt.
      expect(await jwksFetches(tenant)).toBe(1)
    })

    it('fetches again once the interval has passed, and accepts tokens when the provider is back', async () => {
      const { env, tenant } = idpEnv()
      await jwksFault(tenant, { status: 503 })
      expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(500)
      await jwksFault(tenant, {})
      expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(500)
      expect(await jwksFetches(tenant)).toBe(1)
      advanceClock(REFETCH_INTERVAL_MS)
      expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
      expect(await jwksFetches(tenant)).toBe(2)
    })

    it('keeps accepting cached keys, refuses unknown kids, and tries the provider once per interval', async () => {
      const { env, tenant } = idpEnv()
      expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
      await jwksFault(tenant, { status: 503 })
      await rotateKey(tenant, 'ES256')
      advanceClock(REFETCH_INTERVAL_MS)
      // The unknown kid is worth one refetch; it fails, and the cached keys answer.
      await expect401(env, await idpToken(tenant, 'ES256'), 'token signing key is not known')
      expect(await jwksFetches(tenant)).toBe(2)
      // Within the interval after that failed attempt, nothing is fetched again.
      await expect401(env, await idpToken(tenant, 'ES256'), 'token signing key is not known')
      expect((await api.linkToken(env, await idpToken(tenant, 'RS256'))).status).toBe(200)
      expect(await jwksFetches(tenant)).toBe(2)
    })

    it('answers 500 when the keys do not arrive within 5 s', async () => {
      const { env, tenant } = idpEnv()
      await jwksFault(tenant, { delay_ms: 6_000 })
      const token = await idpToken(tenant, 'RS256')
      const started = Date.now()
      const res = await api.linkToken(env, token)
      expect(res.status).toBe(500)
      expect(res.body.detail).toMatch(/JWT_JWKS_URL/)
      expect(Date.now() - started).toBeLessThan(6_000)
    }, 10_000)
  })

  it('answers 500 naming the setting when the JWKS cannot be fetched', async () => {
    const { env } = idpEnv({ JWT_JWKS_URL: 'https://unreachable.test/jwks.json' })
    const res = await api.linkToken(env, await idpToken(crypto.randomUUID(), 'RS256'))
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/JWT_JWKS_URL/)
  })

  it.each([
    [
      'JWT_JWKS_URL over plain http',
      { JWT_JWKS_URL: 'http://idp.test/x/.well-known/jwks.json' },
      /JWT_JWKS_URL must be an https:\/\/ URL/,
    ],
    [
      'HS256 allowed with a JWKS',
      { JWT_ALG: 'RS256,HS256' },
      /^Failed to create link token: server misconfigured: JWT_ALG contains an unknown algorithm for JWKS; with JWT_JWKS_URL, set it to a comma list of: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA \(HMAC algorithms need JWT_SECRET instead\)/,
    ],
  ])('answers 500 for %s', async (_, overrides, detail) => {
    const { env, tenant } = idpEnv(overrides)
    const res = await api.linkToken(env, await idpToken(tenant, 'RS256'))
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(detail)
  })
})
