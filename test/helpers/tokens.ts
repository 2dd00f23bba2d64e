import { sign } from 'hono/jwt'

export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-bytes-long'

const now = () => Math.floor(Date.now() / 1000)

/** A valid bearer token for `sub`, signed like the frontend's auth server would; override any claim. */
export function mintToken(
  claims: Record<string, unknown> = {},
  { secret = TEST_JWT_SECRET, alg = 'HS256' as 'HS256' | 'HS384' | 'HS512' } = {},
): Promise<string> {
  const payload = Object.fromEntries(
    Object.entries({ sub: newUserId(), iat: now(), exp: now() + 300, ...claims }).filter(([, v]) => v !== undefined),
  )
  return sign(payload, secret, alg)
}

export function newUserId(): string {
  return `user-${crypto.randomUUID()}`
}

const b64url = (value: object | string) =>
  btoa(typeof value === 'string' ? value : JSON.stringify(value))
    .replace(/=+$/, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')

/** A token with an arbitrary header and payload and a given (possibly empty) signature. */
export function rawToken(header: object, payload: object, signature = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`
}

export { now }
