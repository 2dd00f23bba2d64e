import type { Context } from 'hono'
import { configOf } from '../context'
import { ApiError, UnauthorizedError } from '../errors'
import type { AppEnv } from '../types'

const BEARER = /^Bearer +(\S+) *$/i

/**
 * Requires `Authorization: Bearer <OPERATOR_TOKEN>` for the operator routes, which act on any
 * user (deleting one who can no longer sign in). Without OPERATOR_TOKEN they answer 404, as if
 * they did not exist. A user's JWT never passes: the two secrets are unrelated.
 */
export async function authenticateOperator(c: Context<AppEnv>): Promise<void> {
  const { operatorToken } = configOf(c)
  if (operatorToken === undefined) throw new ApiError(404, 'not found')
  const presented = BEARER.exec(c.req.header('Authorization') ?? '')?.[1]
  if (presented === undefined || !(await sameSecret(presented, operatorToken))) {
    throw new UnauthorizedError('missing or wrong operator token: send Authorization: Bearer <OPERATOR_TOKEN>')
  }
}

/** Compares in constant time; hashing first gives both sides the same length, as timingSafeEqual needs. */
async function sameSecret(presented: string, expected: string): Promise<boolean> {
  const digest = (text: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  const [a, b] = await Promise.all([digest(presented), digest(expected)])
  return crypto.subtle.timingSafeEqual(a, b)
}
