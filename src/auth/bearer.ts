import type { Context } from 'hono'
import { verify } from 'hono/jwt'
import type { JWTPayload } from 'hono/utils/jwt/types'
import type { AuthConfig } from '../config'
import { configOf, requestDeadline } from '../context'
import { UnauthorizedError } from '../errors'
import type { AppEnv } from '../types'
import { JwksUnavailableError, verifyWithProviderKeys } from './jwks'
import { checkTimeClaims, TIME_CLAIMS_CHECKED_HERE } from './time-claims'

// hono's JWT errors put the token in their messages, so callers only ever see these reasons.
// (Time claims are checked by ./time-claims.ts, which throws its own.)
const REASONS: Record<string, string> = {
  JwtTokenIssuer: 'token issuer is not accepted',
  JwtTokenAudience: 'token audience is not accepted',
  JwtPayloadRequiresAud: 'token audience is not accepted',
  JwtAlgorithmMismatch: 'token algorithm is not accepted',
  JwtAlgorithmNotAllowed: 'token algorithm is not accepted',
  JwtAlgorithmNotImplemented: 'token algorithm is not accepted',
  JwtHeaderInvalid: 'token header is invalid',
  JwtTokenSignatureMismatched: 'token signature is invalid',
  JwtSymmetricAlgorithmNotAllowed: 'token algorithm is not accepted',
  JwtHeaderRequiresKid: 'token has no kid header',
}

// The scheme name is case-insensitive (RFC 7235, section 2.1): `bearer` is as good as `Bearer`.
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i

/**
 * Requires `Authorization: Bearer <JWT>`, signed with JWT_SECRET or by the identity provider's
 * keys (JWT_JWKS_URL), and sets `userId` from `sub` (a route's `caller`, routes/operation.ts).
 * Only the header is read (no cookie or query fallback), so a token cannot ride in on a URL
 * that ends up in logs.
 */
export async function authenticateUser(c: Context<AppEnv>): Promise<void> {
  const { auth } = configOf(c)
  const header = c.req.header('Authorization')
  if (!header) {
    throw new UnauthorizedError('missing bearer token: send Authorization: Bearer <JWT>', 'invalid_request')
  }
  const token = BEARER.exec(header)?.[1]
  if (!token) {
    throw new UnauthorizedError('Authorization header must be "Bearer <JWT>"', 'invalid_request')
  }

  let payload: Record<string, unknown>
  try {
    payload = await verifyToken(c, token, auth)
  } catch (error) {
    if (error instanceof JwksUnavailableError || error instanceof UnauthorizedError) throw error
    const name = error instanceof Error ? error.name : ''
    throw new UnauthorizedError(REASONS[name] ?? 'token is malformed')
  }

  // Time claims are trusted only now that the signature holds. checkTimeClaims, like hono, checks
  // exp only when present; a token that never expires is not accepted here.
  checkTimeClaims(payload, auth.clockSkewSeconds)
  if (typeof payload.exp !== 'number') throw new UnauthorizedError('token has no exp claim')
  const sub = payload.sub
  if (typeof sub !== 'string' || sub.trim() === '') {
    throw new UnauthorizedError('token has no sub claim (the user id)')
  }
  if (sub.length > 255) throw new UnauthorizedError('token sub claim is longer than 255 characters')
  c.set('userId', sub)
}

// Importing the secret costs more CPU than checking the signature, and the settings (so the
// secret) are fixed for the isolate's life: each one is imported once.
const hmacKeys = new WeakMap<AuthConfig, Promise<CryptoKey>>()

function hmacKeyOf(auth: AuthConfig & { mode: 'hmac' }): Promise<CryptoKey> {
  let key = hmacKeys.get(auth)
  if (!key) {
    const hash = `SHA-${auth.alg.slice(2)}`
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(auth.secret), { name: 'HMAC', hash }, false, [
      'verify',
    ])
    hmacKeys.set(auth, key)
  }
  return key
}

/** The algorithm is pinned by configuration, never taken from the token (RFC 8725 3.1). */
function verifyToken(c: Context<AppEnv>, token: string, auth: AuthConfig): Promise<JWTPayload> {
  const verification = {
    ...(auth.issuer !== undefined && { iss: auth.issuer }),
    ...(auth.audience !== undefined && { aud: auth.audience }),
    ...TIME_CLAIMS_CHECKED_HERE,
  }
  if (auth.mode === 'hmac') return hmacKeyOf(auth).then((key) => verify(token, key, { alg: auth.alg, ...verification }))
  return verifyWithProviderKeys(token, auth, verification, requestDeadline(c))
}
