/** Dev bearer tokens, signed as `npm run token` signs them. Development only. */
import { sign } from 'hono/jwt'
import { DEV_JWT_SECRET } from '../../src/dev-defaults'

/**
 * A token for the user `sub`, valid from `now` for `ttlSeconds`: signed with JWT_SECRET, JWT_ALG,
 * JWT_ISSUER and JWT_AUDIENCE from `vars` (.dev.vars) when set, else with the dev secret that
 * LOCAL_DEV=true accepts.
 */
export function devToken(
  sub: string,
  ttlSeconds: number,
  { vars = {}, now = Math.floor(Date.now() / 1000) }: { vars?: Record<string, string>; now?: number } = {},
): Promise<string> {
  const payload: Record<string, unknown> = { sub, iat: now, exp: now + ttlSeconds }
  if (vars.JWT_ISSUER) payload.iss = vars.JWT_ISSUER
  if (vars.JWT_AUDIENCE) payload.aud = vars.JWT_AUDIENCE
  return sign(payload, vars.JWT_SECRET || DEV_JWT_SECRET, (vars.JWT_ALG || 'HS256') as 'HS256' | 'HS384' | 'HS512')
}
