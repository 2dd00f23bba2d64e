import { sign } from 'hono/jwt'
import { describe, expect, it } from 'vitest'
import { api } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { mintToken, now, rawToken, TEST_JWT_SECRET } from '../helpers/tokens'

/** Asserts the 401 contract: JSON detail, a Bearer challenge, and Plaid never called. */
async function expectRejected(env: TestEnv, headers: Record<string, string>, detail: string | RegExp) {
  const res = await api.linkToken(env, undefined, { headers })
  expect(res.status).toBe(401)
  expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
  expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
  expect(Object.keys(res.body)).toEqual(['detail'])
  if (typeof detail === 'string') expect(res.body.detail).toBe(detail)
  else expect(res.body.detail).toMatch(detail)
  expect(await emulator.calls(env)).toEqual({})
  return res
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })

describe('bearer JWT on the link-token route', () => {
  it('answers 401 when the Authorization header is missing', async () => {
    await expectRejected(testEnv(), {}, 'missing bearer token: send Authorization: Bearer <JWT>')
  })

  it.each([
    ['a Basic credential', 'Basic dXNlcjpwYXNz'],
    ['a bare token without the Bearer scheme', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ['an empty Bearer', 'Bearer '],
    ['a token that is not a JWT', 'Bearer not-a-jwt'],
  ])('answers 401 for %s', async (_, value) => {
    await expectRejected(testEnv(), { Authorization: value }, 'Authorization header must be "Bearer <JWT>"')
  })

  it('does not read a token from a cookie or the query string', async () => {
    const token = await mintToken()
    const env = testEnv()
    const res = await api.linkToken(env, undefined, {
      query: `token=${token}&access_token=${token}`,
      headers: { Cookie: `token=${token}; access_token=${token}` },
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
    expect(res.body).toEqual({ detail: 'missing bearer token: send Authorization: Bearer <JWT>' })
    expect(res.text).not.toContain(token)
    expect(await emulator.calls(env)).toEqual({})
  })

  it('accepts the scheme name in any case, as RFC 7235 has it', async () => {
    const res = await api.linkToken(testEnv(), undefined, { headers: { Authorization: `bearer ${await mintToken()}` } })
    expect(res.status).toBe(200)
  })

  it('answers 401 when the token has expired', async () => {
    // Expired longer ago than the clock skew allowed by default (JWT_CLOCK_SKEW_SECONDS, 60 s).
    await expectRejected(testEnv(), bearer(await mintToken({ exp: now() - 120 })), 'token has expired')
  })

  it('answers 401 when the token is not valid yet', async () => {
    await expectRejected(testEnv(), bearer(await mintToken({ nbf: now() + 600 })), 'token is not valid yet (nbf)')
  })

  it('answers 401 when the token claims to be issued in the future', async () => {
    await expectRejected(
      testEnv(),
      bearer(await mintToken({ iat: now() + 600 })),
      'token was issued in the future (iat)',
    )
  })

  it('answers 401 when the token has no exp', async () => {
    await expectRejected(testEnv(), bearer(await mintToken({ exp: undefined })), 'token has no exp claim')
  })

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['a number', 42],
  ])('answers 401 when sub is %s', async (_, sub) => {
    await expectRejected(testEnv(), bearer(await mintToken({ sub })), 'token has no sub claim (the user id)')
  })

  it('answers 401 when the token is signed with another secret (forged)', async () => {
    const forged = await mintToken({}, { secret: 'another-secret-that-is-at-least-32-bytes' })
    await expectRejected(testEnv(), bearer(forged), 'token signature is invalid')
  })

  it('answers 401 when the payload was changed after signing', async () => {
    const [header, , signature] = (await mintToken({ sub: 'alice' })).split('.')
    const payload = btoa(JSON.stringify({ sub: 'admin', exp: now() + 300 })).replace(/=+$/, '')
    await expectRejected(testEnv(), bearer(`${header}.${payload}.${signature}`), 'token signature is invalid')
  })

  it('answers 401 for an unsigned token (alg none)', async () => {
    const token = rawToken({ alg: 'none', typ: 'JWT' }, { sub: 'alice', exp: now() + 300 })
    await expectRejected(testEnv(), bearer(token), /^token (algorithm is not accepted|header is invalid|is malformed)$/)
  })

  it('answers 401 for an unsigned token with an empty signature that claims HS256', async () => {
    const token = rawToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: now() + 300 })
    await expectRejected(testEnv(), bearer(token), /^token (signature is invalid|is malformed)$/)
  })

  it.each(['HS384', 'HS512'] as const)('answers 401 for a %s token when HS256 is configured', async (alg) => {
    const token = await sign({ sub: 'alice', exp: now() + 300 }, TEST_JWT_SECRET.repeat(2), alg)
    await expectRejected(
      testEnv({ JWT_SECRET: TEST_JWT_SECRET.repeat(2) }),
      bearer(token),
      'token algorithm is not accepted',
    )
  })

  it('answers 401 for an RS256 header when HS256 is configured (key confusion)', async () => {
    const token = rawToken({ alg: 'RS256', typ: 'JWT' }, { sub: 'alice', exp: now() + 300 }, 'c2lnbmF0dXJl')
    await expectRejected(testEnv(), bearer(token), 'token algorithm is not accepted')
  })

  it('accepts HS512 tokens when JWT_ALG=HS512 and rejects HS256 ones', async () => {
    const secret = 'x'.repeat(64)
    const env = testEnv({ JWT_ALG: 'HS512', JWT_SECRET: secret })
    const ok = await api.linkToken(env, await mintToken({}, { secret, alg: 'HS512' }))
    expect(ok.status).toBe(200)
    await expectRejected(
      testEnv({ JWT_ALG: 'HS512', JWT_SECRET: secret }),
      bearer(await mintToken({}, { secret })),
      'token algorithm is not accepted',
    )
  })

  describe('with JWT_ISSUER and JWT_AUDIENCE set', () => {
    const settings = { JWT_ISSUER: 'https://auth.example.com/', JWT_AUDIENCE: 'banking-api' }

    it('accepts a token with the right iss and aud', async () => {
      const res = await api.linkToken(
        testEnv(settings),
        await mintToken({ iss: settings.JWT_ISSUER, aud: settings.JWT_AUDIENCE }),
      )
      expect(res.status).toBe(200)
    })

    it('answers 401 when iss is wrong or missing', async () => {
      await expectRejected(
        testEnv(settings),
        bearer(await mintToken({ iss: 'https://evil.example.com/', aud: 'banking-api' })),
        'token issuer is not accepted',
      )
      await expectRejected(
        testEnv(settings),
        bearer(await mintToken({ aud: 'banking-api' })),
        'token issuer is not accepted',
      )
    })

    it('answers 401 when aud is wrong or missing', async () => {
      await expectRejected(
        testEnv(settings),
        bearer(await mintToken({ iss: settings.JWT_ISSUER, aud: 'other-api' })),
        'token audience is not accepted',
      )
      await expectRejected(
        testEnv(settings),
        bearer(await mintToken({ iss: settings.JWT_ISSUER })),
        'token audience is not accepted',
      )
    })
  })

  it('never echoes the token in the answer', async () => {
    const token = await mintToken({ exp: now() - 120 })
    const res = await api.linkToken(testEnv(), token)
    expect(res.status).toBe(401)
    expect(res.text).not.toContain(token.split('.')[1])
  })
})
