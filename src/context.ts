import type { Context } from 'hono'
import { type Config, getConfig } from './config'
import { createLogger, type Logger } from './log'
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

/** Until when (epoch ms) this request may wait on other services (its endpoint's `deadlineMs`); undefined: each call's own timeout. */
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
    log: logOf(c),
    defer: (work) => c.executionCtx.waitUntil(work),
    requestId: c.get('requestId'),
  }
}

/** The request's logger: every line carries the request's id. Made at its first use. */
export function logOf(c: Context<AppEnv>): Logger {
  let log = c.get('log')
  if (log === undefined) {
    log = createLogger({ request_id: c.get('requestId') })
    c.set('log', log)
  }
  return log
}
