import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { authenticateUser } from '../auth/bearer'
import { authenticateOperator } from '../auth/operator'
import { serviceContext } from '../context'
import { ApiError } from '../errors'
import { deleteUserData } from '../services/user-deletion'
import type { AppEnv } from '../types'
import { endpoint } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { MAX_USER_ID } from './schemas'

/** A user asks for everything kept about them to be deleted (idempotent: 204 again when done). */
export const userRoutes = new Hono<AppEnv>().delete(
  '/users/me',
  endpoint({ operation: 'delete user data', caller: authenticateUser }, async (c) => {
    await limitPlaidCalls(c)
    await deleteUserData(serviceContext(c), c.get('userId'))
    return c.body(null, 204)
  }),
)

function userIdInPath(c: Context<AppEnv>): string {
  const userId = c.req.param('user_id') ?? ''
  if (userId.length === 0 || userId.length > MAX_USER_ID) {
    throw new ApiError(422, `user_id must be 1 to ${MAX_USER_ID} characters: the sub of the user's tokens`)
  }
  return userId
}

/** The same deletion for an operator, for a user who can no longer sign in. */
export const operatorRoutes = new Hono<AppEnv>().delete(
  '/users/:user_id',
  endpoint({ operation: 'delete user data', caller: authenticateOperator }, async (c) => {
    await deleteUserData(serviceContext(c), userIdInPath(c))
    return c.body(null, 204)
  }),
)
