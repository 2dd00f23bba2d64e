/**
 * `npm run token -- <user-id> [minutes]`: prints a bearer token for local development, signed
 * with JWT_SECRET from .dev.vars, or the dev secret that `npm run dev` accepts by default.
 */
import { sign } from 'hono/jwt'
import { DEV_JWT_SECRET } from '../src/dev-defaults'
import { readDevVars } from './dev-vars'

const [userId, minutes = '60'] = process.argv.slice(2)
if (!userId) {
  console.error('usage: npm run token -- <user-id> [minutes-valid]')
  process.exit(1)
}
const vars = readDevVars()
const now = Math.floor(Date.now() / 1000)
const payload: Record<string, unknown> = { sub: userId, iat: now, exp: now + Number(minutes) * 60 }
if (vars.JWT_ISSUER) payload.iss = vars.JWT_ISSUER
if (vars.JWT_AUDIENCE) payload.aud = vars.JWT_AUDIENCE
console.log(
  await sign(payload, vars.JWT_SECRET || DEV_JWT_SECRET, (vars.JWT_ALG || 'HS256') as 'HS256' | 'HS384' | 'HS512'),
)
