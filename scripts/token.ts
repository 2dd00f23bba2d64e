/**
 * `npm run token -- <user-id> [minutes]`: prints a bearer token for local development, signed
 * with JWT_SECRET from .dev.vars, or the dev secret that `npm run dev` accepts by default.
 */
import { readDevVars } from './dev-vars'
import { devToken } from './lib/tokens'

const USAGE = 'usage: npm run token -- <user-id> [minutes-valid]'

/** The user id and minutes, or the one line that says what is wrong with the arguments. */
function parseArgs(args: string[]): { userId: string; minutes: number } | { error: string } {
  const flag = args.find((arg) => arg.startsWith('-'))
  if (flag !== undefined) return { error: `unknown option ${flag}` }
  const [userId, minutes = '60', ...extra] = args
  if (!userId) return { error: 'a user id is required' }
  if (extra.length > 0) return { error: `unexpected argument ${extra[0]}` }
  const value = Number(minutes)
  if (!/^\d+(\.\d+)?$/.test(minutes) || value <= 0)
    return { error: `minutes-valid must be a number above 0, got ${minutes}` }
  return { userId, minutes: value }
}

const parsed = parseArgs(process.argv.slice(2))
if ('error' in parsed) {
  console.error(`npm run token: ${parsed.error} (${USAGE})`)
  process.exit(2)
}
console.log(await devToken(parsed.userId, Math.round(parsed.minutes * 60), { vars: readDevVars() }))
