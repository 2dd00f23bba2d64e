import type { Context } from 'hono'
import { ApiError, ConfigError } from '../errors'
import type { AppEnv } from '../types'
import { RATE_LIMIT_PERIOD_SECONDS } from './rate-limit-policy'

export { LIMITED_ROUTES, PLAID_CALLS_PER_MINUTE, RATE_LIMIT_PERIOD_SECONDS } from './rate-limit-policy'

/**
 * Spends one unit of the user's budget of Plaid-backed requests (Workers Rate Limiting binding,
 * keyed by user id), or answers 429 before Plaid is called.
 */
export async function limitPlaidCalls(c: Context<AppEnv>): Promise<void> {
  const limiter = c.env.PLAID_RATE_LIMITER
  if (!limiter) {
    throw new ConfigError([
      'PLAID_RATE_LIMITER (the rate limiting binding) is missing; add [[ratelimits]] to wrangler.toml',
    ])
  }
  const { success } = await limiter.limit({ key: `user:${c.get('userId')}` })
  if (!success) {
    throw new ApiError(429, 'too many requests that reach Plaid; try again shortly', {
      'Retry-After': String(RATE_LIMIT_PERIOD_SECONDS),
    })
  }
}
