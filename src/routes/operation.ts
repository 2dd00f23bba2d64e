import type { Context } from 'hono'
import type { AppEnv } from '../types'

/** Who may call a route, checked before its handler runs (authenticateUser, authenticateOperator). */
export type CallerCheck = (c: Context<AppEnv>) => Promise<void>

export type Endpoint = {
  /** What the route does, so its errors read "Failed to <operation>: <reason>". */
  operation: string
  /**
   * Required, so a new route cannot go unchecked by omission: null only where the handler checks
   * the caller itself (Plaid's webhooks are signed).
   */
  caller: CallerCheck | null
  /**
   * A deadline for the request, from its start: the identity provider's keys and every Plaid call
   * share what is left of it. The link-token route has one (the seed's contract is an answer
   * within 10 s). Other routes are bounded by each call's own timeout instead, because a cut-off
   * across the whole request would stop a balance check that may take PLAID_BALANCE_TIMEOUT_MS
   * (30 s), or the /item/remove that undoes a half-finished exchange.
   */
  deadlineMs?: number
}

/**
 * A route's one handler: it names the operation, sets the deadline and checks the caller, then
 * runs `handler`. One router entry per route, instead of a middleware for each of those steps,
 * because hono/tiny's router tests every entry in turn and each entry is another step of the
 * chain: on the link-token route that was four entries for one request.
 */
export function endpoint(
  { operation, caller, deadlineMs }: Endpoint,
  handler: (c: Context<AppEnv>) => Promise<Response>,
): (c: Context<AppEnv>) => Promise<Response> {
  return async function runEndpoint(c) {
    c.set('operation', operation)
    if (deadlineMs !== undefined) c.set('deadline', Date.now() + deadlineMs)
    if (caller) await caller(c)
    return handler(c)
  }
}
