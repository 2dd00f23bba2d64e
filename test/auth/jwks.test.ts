import { describe, expect, it } from 'vitest'
import { mintToken, newUserId, now } from '../helpers/tokens'
import { call, emulator, type TestEnv, testEnv } from '../helpers/worker'

const IDP = 'https://idp.test'
const PATH = '/api/v1/banking/link-token'

/** An env whose bearer tokens come from its own identity provider (a tenant of the stand-in IdP). */
function idpEnv(overrides: Record<string, string> = {}) {
  const tenant = crypto.randomUUID()
  const env = testEnv({
    JWT_SECRET: undefined,
    JWT_JWKS_URL: `${IDP}/${tenant}/.well-known/jwks.json`,
    JWT_ALG: 'RS256,ES256',
    JWT_ISSUER: `${IDP}/${tenant}/`,
    JWT_AUDIENCE: 'banking-api',
    ...overrides,
  })
  return { env, tenant }
}

async function idpToken(
  tenant: string,
  alg: 'RS256' | 'ES256',
  claims: Record<string, unknown> = {},
  extra: { kid?: string; unlisted?: boolean } = {},
): Promise<string> {
  const response = await fetch(`${IDP}/${tenant}/sign`, {
    method: 'POST',
    body: JSON.stringify({
      alg,
      claims: {
        sub: newUserId(),
        iss: `${IDP}/${tenant}/`,
        aud: 'banking-api',
        iat: now(),
        exp: now() + 300,
        ...claims,
      },
      ...extra,
    }),
  })
  return ((await response.json()) as { token: string }).token
}

const jwksFetches = async (tenant: string) =>
  ((await (await fetch(`${IDP}/${tenant}/fetches`)).json()) as { fetches: number }).fetches

/** 401 with the reason, and Plaid not called for it. */
async function expect401(env: TestEnv, token: string, detail: string) {
  const before = await emulator.calls(env)
  const res = await call(env, 'POST', PATH, { token })
  expect(res.status).toBe(401)
  expect(res.body).toEqual({ detail })
  expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
  expect(await emulator.calls(env)).toEqual(before)
}

describe('bearer tokens from an identity provider (JWT_JWKS_URL)', () => {
  it.each(['RS256', 'ES256'] as const)('accepts a %s token signed by a key in the JWKS', async (alg) => {
    const { env, tenant } = idpEnv()
    const res = await call(env, 'POST', PATH, { token: await idpToken(tenant, alg) })
    expect(res.status).toBe(200)
  })

  it('caches the keys: many requests, one JWKS fetch', async () => {
    const { env, tenant } = idpEnv()
    for (let i = 0; i < 5; i++) {
      expect((await call(env, 'POST', PATH, { token: await idpToken(tenant, 'RS256') })).status).toBe(200)
    }
    expect(await jwksFetches(tenant)).toBe(1)
  })

  it('refetches once for a new kid after the provider rotates keys', async () => {
    const { env, tenant } = idpEnv()
    expect((await call(env, 'POST', PATH, { token: await idpToken(tenant, 'ES256') })).status).toBe(200)
    await fetch(`${IDP}/${tenant}/rotate`, { method: 'POST', body: JSON.stringify({ alg: 'ES256' }) })
    // Within the refetch interval a new kid is not looked up again: it is unknown for now.
    await expect401(env, await idpToken(tenant, 'ES256'), 'token signing key is not known')
    expect(await jwksFetches(tenant)).toBe(1)
  })

  it('does not refetch for every unknown kid (no amplification)', async () => {
    const { env, tenant } = idpEnv()
    await call(env, 'POST', PATH, { token: await idpToken(tenant, 'RS256') })
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
    await call(env, 'POST', PATH, { token: await idpToken(tenant, 'RS256') })
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
    await expect401(env, await idpToken(tenant, 'RS256', { exp: now() - 5 }), 'token has expired')
    await expect401(env, await idpToken(tenant, 'RS256', { iss: 'https://evil.test/' }), 'token issuer is not accepted')
    await expect401(env, await idpToken(tenant, 'RS256', { aud: 'other' }), 'token audience is not accepted')
    await expect401(env, await idpToken(tenant, 'RS256', { sub: '' }), 'token has no sub claim (the user id)')
  })

  it('answers 500 naming the setting when the JWKS cannot be fetched', async () => {
    const { env } = idpEnv({ JWT_JWKS_URL: 'https://unreachable.test/jwks.json' })
    const res = await call(env, 'POST', PATH, { token: await idpToken(crypto.randomUUID(), 'RS256') })
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/JWT_JWKS_URL/)
  })

  it.each([
    [
      'JWT_JWKS_URL over plain http',
      { JWT_JWKS_URL: 'http://idp.test/x/.well-known/jwks.json' },
      /JWT_JWKS_URL must be an https:\/\/ URL/,
    ],
    ['HS256 allowed with a JWKS', { JWT_ALG: 'RS256,HS256' }, /JWT_ALG contains unknown algorithm for JWKS "HS256"/],
  ])('answers 500 for %s', async (_, overrides, detail) => {
    const { env, tenant } = idpEnv(overrides)
    const res = await call(env, 'POST', PATH, { token: await idpToken(tenant, 'RS256') })
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(detail)
  })
})
