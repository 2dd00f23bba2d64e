import type { Context } from 'hono'
import { ApiError, ConfigError } from '../errors'
import type { AppEnv } from '../types'

/**
 * The `period` of both [[ratelimits]] blocks in wrangler.toml, answered as Retry-After: how long a
 * caller over the limit should wait at most. The binding does not tell its period, so it is
 * restated here; test/rate-limit.test.ts fails when this and wrangler.toml disagree.
 */
const RATE_LIMIT_PERIOD_SECONDS = 60

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
