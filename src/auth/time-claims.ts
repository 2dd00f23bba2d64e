import type { JWTPayload } from 'hono/utils/jwt/types'
import { UnauthorizedError } from '../errors'

/**
 * What hono/jwt's verify is told, so that it leaves `exp`, `nbf` and `iat` to checkTimeClaims:
 * hono (4.13) checks them with no leeway and has no option for one.
 */
export const TIME_CLAIMS_CHECKED_HERE = { exp: false, nbf: false, iat: false } as const

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/**
 * Checks a verified token's time claims, each that is present, allowing `skewSeconds` of clock
 * difference either way: RFC 7519 (4.1.4, 4.1.5) lets a verifier allow "some small leeway,
 * usually no more than a few minutes, to account for clock skew", and an identity provider's
 * clock that runs a second ahead of Cloudflare's would otherwise issue tokens that fail at once.
 * Same order, conditions and reasons as hono's own checks, but for the leeway.
 */
export function checkTimeClaims(payload: JWTPayload, skewSeconds: number, nowMs = Date.now()): void {
  const now = Math.floor(nowMs / 1000)
  const { nbf, exp, iat } = payload
  if (nbf !== undefined && (!isTime(nbf) || nbf > now + skewSeconds)) {
    throw new UnauthorizedError('token is not valid yet (nbf)')
  }
  if (exp !== undefined && (!isTime(exp) || exp <= now - skewSeconds)) throw new UnauthorizedError('token has expired')
  if (iat !== undefined && (!isTime(iat) || iat > now + skewSeconds)) {
    throw new UnauthorizedError('token was issued in the future (iat)')
  }
}
