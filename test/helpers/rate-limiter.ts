/**
 * A PLAID_RATE_LIMITER binding whose window the test moves. Cloudflare's binding, and miniflare's
 * simulation of it in the tests, count in windows aligned to the wall clock (miniflare:
 * `Math.floor(Date.now() / (period * 1000))`), so a burst that happens to straddle a boundary
 * finds its budget renewed half-way and no test could tell when that happens. Here a window only
 * ends when the test says so.
 */

/** `simple = { limit, period }` of every [[ratelimits]] block in wrangler.toml, as the README documents it. */
export const PLAID_RATE_LIMIT = { limit: 30, period: 60 } as const

export type TestRateLimiter = {
  binding: RateLimit
  /** Every key the Worker asked about, in order, one entry per call. */
  readonly keys: readonly string[]
  /** Ends the window: every key has its whole budget again. */
  nextWindow(): void
}

export function testRateLimiter(limit: number = PLAID_RATE_LIMIT.limit): TestRateLimiter {
  const spent = new Map<string, number>()
  const keys: string[] = []
  return {
    binding: {
      async limit({ key }: RateLimitOptions): Promise<RateLimitOutcome> {
        keys.push(key)
        const used = spent.get(key) ?? 0
        if (used >= limit) return { success: false }
        spent.set(key, used + 1)
        return { success: true }
      },
    },
    keys,
    nextWindow: () => spent.clear(),
  }
}
