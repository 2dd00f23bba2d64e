/**
 * Tokens from a clock a little ahead of or behind Cloudflare's: `iat`, `nbf` and `exp` are each
 * accepted up to JWT_CLOCK_SKEW_SECONDS past their bound and refused one second beyond it, with
 * a shared secret and with an identity provider's keys alike. The clock is frozen (only Date is
 * faked), so "one second beyond" is exact and no test depends on how fast it runs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { api } from '../helpers/api'
import { type TestEnv, testEnv } from '../helpers/env'
import { mintToken } from '../helpers/tokens'
import { idpEnv, idpToken } from './identity-provider'

// Half-way through a second, so the Worker's whole-second "now" is NOW whatever it rounds.
const NOW = 1_900_000_000
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000 + 500)
})
afterEach(() => {
  vi.useRealTimers()
})

type Claims = Record<string, number>
type Mode = { name: string; setup: (skew?: string) => { env: TestEnv; token: (claims: Claims) => Promise<string> } }

const MODES: Mode[] = [
  {
    name: 'HS256 with JWT_SECRET',
    setup: (skew) => ({
      env: testEnv(skew === undefined ? {} : { JWT_CLOCK_SKEW_SECONDS: skew }),
      token: (claims) => mintToken({ iat: NOW, exp: NOW + 300, ...claims }),
    }),
  },
  {
    name: "RS256 with the identity provider's JWKS",
    setup: (skew) => {
      const { env, tenant } = idpEnv(skew === undefined ? {} : { JWT_CLOCK_SKEW_SECONDS: skew })
      return { env, token: (claims) => idpToken(tenant, 'RS256', { iat: NOW, exp: NOW + 300, ...claims }) }
    },
  },
]

// [setting, the skew it allows]: the default, none at all, and the largest allowed.
const SKEWS: [string | undefined, number][] = [
  [undefined, 60],
  ['0', 0],
  ['300', 300],
]

describe.each(MODES)('clock skew, $name', ({ setup }) => {
  describe.each(SKEWS)('with JWT_CLOCK_SKEW_SECONDS=%s (%i s allowed)', (setting, skew) => {
    const cases: [string, Claims, Claims, string][] = [
      ['iat', { iat: NOW + skew }, { iat: NOW + skew + 1 }, 'token was issued in the future (iat)'],
      ['nbf', { nbf: NOW + skew }, { nbf: NOW + skew + 1 }, 'token is not valid yet (nbf)'],
      ['exp', { iat: NOW - 600, exp: NOW - skew + 1 }, { iat: NOW - 600, exp: NOW - skew }, 'token has expired'],
    ]

    it.each(cases)('accepts %s at the bound and refuses it one second beyond', async (_, inside, beyond, reason) => {
      const { env, token } = setup(setting)
      const accepted = await api.items(env, await token(inside))
      expect(accepted.status).toBe(200)
      expect(accepted.body).toEqual({ items: [] })
      const refused = await api.items(env, await token(beyond))
      expect(refused.status).toBe(401)
      expect(refused.body).toEqual({ detail: reason })
      expect(refused.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
    })
  })
})
