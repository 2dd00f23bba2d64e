import type { Context } from 'hono'
import { type Config, getConfig } from './env'
import type { Logger } from './log'
import { PlaidClient } from './plaid/client'
import type { AppEnv } from './types'

/** What the services need for one request or one queue message. */
export type ServiceContext = { config: Config; plaid: PlaidClient; log: Logger }

export function serviceContext(c: Context<AppEnv>): ServiceContext {
  const config = getConfig(c.env)
  return { config, plaid: new PlaidClient(config.plaid), log: c.get('log') }
}
