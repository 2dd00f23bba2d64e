import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { type Config, getConfig } from './config'
import type { Logger } from './log'
import { PlaidClient } from './plaid/client'
import type { AppEnv } from './types'

/** What the services need for one request or one queue message. */
export type ServiceContext = {
  config: Config
  plaid: PlaidClient
  log: Logger
  /** Work that finishes after the answer has gone out (the request's waitUntil). */
  defer?: (work: Promise<unknown>) => void
  /** The request's id, for jobs it queues. */
  requestId?: string
}

/**
 * Gives the route a deadline, from the request's start: the identity provider's keys and every
 * Plaid call share what is left of it. The link-token route has one (the seed's contract is an
 * answer within 10 s). Other routes are bounded by each call's own timeout instead, because a
 * cut-off across the whole request would stop a balance check that may take
 * PLAID_BALANCE_TIMEOUT_MS (30 s), or the /item/remove that undoes a half-finished exchange.
 */
export const withDeadline = (budgetMs: number) =>
  createMiddleware<AppEnv>(async function withDeadline(c, next) {
    c.set('deadline', Date.now() + budgetMs)
    await next()
  })

/** Until when (epoch ms) this request may wait on other services; undefined: each call's own timeout. */
export const requestDeadline = (c: Context<AppEnv>): number | undefined => c.get('deadline')

/** The request's settings: read at the first use in a request, then kept on its context. */
export function configOf(c: Context<AppEnv>): Config {
  let config = c.get('config')
  if (config === undefined) {
    config = getConfig(c.env)
    c.set('config', config)
  }
  return config
}

export function serviceContext(c: Context<AppEnv>): ServiceContext {
  const config = configOf(c)
  return {
    config,
    plaid: new PlaidClient(config.plaid, { deadline: requestDeadline(c) }),
    log: c.get('log'),
    defer: (work) => c.executionCtx.waitUntil(work),
    requestId: c.get('requestId'),
  }
}
