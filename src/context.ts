import type { Context } from 'hono'
import { routePath } from 'hono/route'
import { type Config, getConfig } from './env'
import type { Logger } from './log'
import { PlaidClient } from './plaid/client'
import type { AppEnv } from './types'

/** What the services need for one request or one queue message. */
export type ServiceContext = { config: Config; plaid: PlaidClient; log: Logger }

/**
 * Request deadlines, from the request's start. Only the link-token route has one: the seed's
 * contract is an answer within 10 s, so the identity provider's keys and every Plaid call share
 * what is left of 10 s, less a margin for sending the answer. Other routes are bounded by each
 * call's own timeout instead, because a cut-off across the whole request would stop a balance
 * check that may take PLAID_BALANCE_TIMEOUT_MS (30 s), or the /item/remove that undoes a
 * half-finished exchange.
 */
const REQUEST_DEADLINES_MS: Record<string, number> = { 'POST /api/v1/banking/link-token': 9_500 }

/**
 * Until when (epoch ms) this request may wait on other services, or undefined when only each
 * call's own timeout applies. Fixed by the first step that waits (the bearer check); on Workers
 * the clock stands still until something waits, so that is the time the request arrived.
 */
export function requestDeadline(c: Context<AppEnv>): number | undefined {
  let deadline = c.get('deadline')
  if (deadline === undefined) {
    const budgetMs = REQUEST_DEADLINES_MS[`${c.req.method} ${routePath(c)}`]
    if (budgetMs === undefined) return undefined
    deadline = Date.now() + budgetMs
    c.set('deadline', deadline)
  }
  return deadline
}

export function serviceContext(c: Context<AppEnv>): ServiceContext {
  const config = getConfig(c.env)
  return { config, plaid: new PlaidClient(config.plaid, { deadline: requestDeadline(c) }), log: c.get('log') }
}
