import { DEV_JWT_SECRET } from '../dev-defaults'
import { isLoopback, type Reader } from './reader'

const JWT_ALGS = { HS256: 32, HS384: 48, HS512: 64 } as const
export type JwtAlg = keyof typeof JWT_ALGS

/** Algorithms an identity provider's JWKS may sign with (symmetric ones never: RFC 8725 3.1). */
export const JWKS_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'] as const
export type JwksAlg = (typeof JWKS_ALGS)[number]

/** How a token's signature is checked: the shared secret, or the identity provider's keys. */
type AuthVerification =
  | { mode: 'hmac'; secret: string; alg: JwtAlg }
  | { mode: 'jwks'; jwksUrl: string; algs: JwksAlg[] }

export type AuthConfig = AuthVerification & { issuer?: string; audience?: string; clockSkewSeconds: number }

export const secretHow = (name: string) => `run \`wrangler secret put ${name}\` (locally, add it to .dev.vars)`

/** How bearer tokens are verified: an identity provider's JWKS when JWT_JWKS_URL is set, else JWT_SECRET. */
export function readAuthVerification(r: Reader, localDev: boolean): AuthVerification {
  const jwksUrl = r.url(
    'JWT_JWKS_URL',
    "set it to the https:// URL of your identity provider's JWKS",
    'to verify tokens with JWT_SECRET',
    (url) => localDev || isLoopback(url),
  )
  if (jwksUrl) {
    const how = `with JWT_JWKS_URL, set it to a comma list of: ${JWKS_ALGS.join(', ')} (HMAC algorithms need JWT_SECRET instead)`
    const algs = r.list('JWT_ALG', 'RS256', new Set<string>(JWKS_ALGS), 'algorithm for JWKS', how) as JwksAlg[]
    return { mode: 'jwks', jwksUrl, algs }
  }
  const how =
    'set it to HS256, HS384 or HS512 (or set JWT_JWKS_URL for tokens signed with a private key: RSA, ECDSA, EdDSA)'
  const algName = r.optional('JWT_ALG', how, 'to use the default (HS256)') ?? 'HS256'
  const alg = (algName in JWT_ALGS ? algName : 'HS256') as JwtAlg
  if (!(algName in JWT_ALGS)) {
    r.problem(
      'JWT_ALG',
      'JWT_ALG must be one of HS256, HS384, HS512; for tokens signed with a private key (RSA, ECDSA, EdDSA), set JWT_JWKS_URL',
    )
  }
  const secret = r.required('JWT_SECRET', secretHow('JWT_SECRET'), localDev ? DEV_JWT_SECRET : undefined)
  // RFC 7518 section 3.2: an HMAC key must be at least as long as the hash output.
  if (secret && new TextEncoder().encode(secret).length < JWT_ALGS[alg]) {
    r.problem(
      'JWT_SECRET',
      `JWT_SECRET is too short for ${alg}; use at least ${JWT_ALGS[alg]} bytes (openssl rand -base64 ${JWT_ALGS[alg]})`,
    )
  }
  return { mode: 'hmac', secret, alg }
}

/** The claims every token is checked against, whichever way its signature is verified. */
export function readAuthClaims(r: Reader): Omit<AuthConfig, keyof AuthVerification> {
  return {
    issuer: r.optional('JWT_ISSUER', 'set it to the exact `iss` your tokens carry', 'to skip the issuer check'),
    audience: r.optional('JWT_AUDIENCE', 'set it to an `aud` your tokens must contain', 'to skip the audience check'),
    // The identity provider's clock and Cloudflare's differ by a little; a minute covers
    // ordinary drift, and five minutes (RFC 7519's "a few minutes") is as far as it goes.
    clockSkewSeconds: r.whole('JWT_CLOCK_SKEW_SECONDS', 60, 0, 300, 'seconds'),
  }
}

/** The operator routes' bearer secret: long enough that it cannot be guessed. */
export function readOperatorToken(r: Reader): string | undefined {
  const how = 'set it to at least 32 random characters (openssl rand -base64 32 | wrangler secret put OPERATOR_TOKEN)'
  const value = r.optional('OPERATOR_TOKEN', how, 'to turn the operator routes off')
  if (value !== undefined && value.length < 32) {
    r.problem('OPERATOR_TOKEN', `OPERATOR_TOKEN is shorter than 32 characters; ${how}`)
    return undefined
  }
  return value
}
