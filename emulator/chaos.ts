/**
 * Chaos mode: random latency, rate limits and server errors on Plaid's paths, for every tenant at
 * once, so a load test sees what a busy Plaid looks like. Unlike the per-tenant faults (./faults.ts),
 * which a test arms for one request, chaos rolls dice on every eligible call until it is turned off.
 *
 * A fault is decided before the endpoint runs and answers in its place, so an injected failure
 * never changes emulator state: a client that retries the same request gets the real answer.
 * Every injected body says so ("injected" in `error_message`, a marker in the HTML page, and the
 * `X-Emulator-Chaos` header), so a client's error can be traced back to chaos.
 */
import { EmulatedPlaidError } from './plaid-error'

/** Where chaos never applies unless a path is listed explicitly: what a load generator needs to work. */
const EXCLUDED = (path: string) =>
  path.startsWith('/sandbox/') || path.startsWith('/emulator/') || path === '/webhook_verification_key/get'

/** Marks an injected answer; its value is the kind (latency is not a kind of answer). */
export const CHAOS_HEADER = 'X-Emulator-Chaos'
/** Recognisable in any error message or page the chaos mode produces. */
export const CHAOS_MARKER = 'injected by the emulator chaos mode'

export type ChaosConfig = {
  /** Added delay, uniform in [min, max] milliseconds, on a `latencyRate` share of calls. */
  latencyMs: [number, number] | null
  latencyRate: number
  /** Share of calls answered 429 RATE_LIMIT_EXCEEDED. */
  rate429: number
  /** Share of calls answered with a server error: alternately 500 API_ERROR and a 503 gateway page. */
  rate5xx: number
  /** The Plaid paths chaos applies to; null: all of them but the excluded ones. "*" in a list: the same. */
  endpoints: string[] | null
}

/** What chaos did to one path. */
export type ChaosCounts = {
  /** Calls chaos looked at (eligible ones). */
  calls: number
  /** Calls it delayed, and by how long in total. */
  latency: number
  latency_ms_total: number
  rate_429: number
  /** Server errors: the 500 API_ERROR bodies and the 503 HTML pages, and both together. */
  status_500: number
  status_503: number
  '5xx': number
}

/** What the endpoint wrapper must do for one call. */
export type ChaosDecision = {
  delayMs: number
  fault: 'rate_429' | 'status_500' | 'status_503' | null
}

/** Plaid's RATE_LIMIT_EXCEEDED codes for the paths that have their own; RATE_LIMIT for the rest. */
const RATE_LIMIT_CODES: Record<string, string> = {
  '/accounts/get': 'ACCOUNTS_LIMIT',
  '/accounts/balance/get': 'BALANCE_LIMIT',
  '/auth/get': 'AUTH_LIMIT',
  '/identity/get': 'IDENTITY_LIMIT',
  '/item/get': 'ITEM_GET_LIMIT',
  '/transactions/get': 'TRANSACTIONS_LIMIT',
  '/transactions/sync': 'TRANSACTIONS_SYNC_LIMIT',
}

export function rateLimitError(path: string): EmulatedPlaidError {
  return new EmulatedPlaidError(
    429,
    'RATE_LIMIT_EXCEEDED',
    RATE_LIMIT_CODES[path] ?? 'RATE_LIMIT',
    `rate limit exceeded for attempts to access this item. please try again later (${CHAOS_MARKER})`,
  )
}

export function internalServerError(): EmulatedPlaidError {
  return new EmulatedPlaidError(
    500,
    'API_ERROR',
    'INTERNAL_SERVER_ERROR',
    `an unexpected error occurred (${CHAOS_MARKER})`,
  )
}

/** What a load balancer in front of Plaid answers when the service behind it is down: not JSON. */
export const GATEWAY_PAGE = `<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<!-- ${CHAOS_MARKER} -->\r\n</body>\r\n</html>\r\n`

const emptyCounts = (): ChaosCounts => ({
  calls: 0,
  latency: 0,
  latency_ms_total: 0,
  rate_429: 0,
  status_500: 0,
  status_503: 0,
  '5xx': 0,
})

/** The chaos settings and counters shared by every tenant of one emulator. */
export class Chaos {
  private config: ChaosConfig | null = null
  private readonly counts = new Map<string, ChaosCounts>()
  private since: number | null = null

  constructor(private readonly random: () => number = Math.random) {}

  /** Replaces the settings (counters keep counting); an error message when the input is invalid. */
  configure(input: unknown): string | undefined {
    const parsed = parseChaos(input)
    if (typeof parsed === 'string') return parsed
    this.config = parsed
    this.since ??= Date.now()
    return undefined
  }

  /** Turns chaos off and forgets the counters. */
  reset(): void {
    this.config = null
    this.counts.clear()
    this.since = null
  }

  /** Rolls the dice for one call of `path`; undefined when chaos leaves it alone. */
  decide(path: string): ChaosDecision | undefined {
    const config = this.config
    if (!config || !applies(config, path)) return undefined
    const counts = this.countsFor(path)
    counts.calls++
    let delayMs = 0
    if (config.latencyMs && config.latencyRate > 0 && this.random() < config.latencyRate) {
      const [min, max] = config.latencyMs
      delayMs = Math.round(min + this.random() * (max - min))
      counts.latency++
      counts.latency_ms_total += delayMs
    }
    const roll = this.random()
    let fault: ChaosDecision['fault'] = null
    if (roll < config.rate429) {
      fault = 'rate_429'
      counts.rate_429++
    } else if (roll < config.rate429 + config.rate5xx) {
      // Alternating per path, so every path that sees server errors sees both kinds.
      fault = counts['5xx'] % 2 === 0 ? 'status_500' : 'status_503'
      counts[fault]++
      counts['5xx']++
    }
    return delayMs === 0 && fault === null ? undefined : { delayMs, fault }
  }

  /** GET /emulator/chaos: the settings and what was injected, per path and in total. */
  snapshot() {
    const totals = emptyCounts()
    const endpoints: Record<string, ChaosCounts> = {}
    for (const [path, counts] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) {
      endpoints[path] = { ...counts }
      for (const key of Object.keys(totals) as (keyof ChaosCounts)[]) totals[key] += counts[key]
    }
    const config = this.config && {
      latency_ms: this.config.latencyMs,
      latency_rate: this.config.latencyRate,
      rate_429: this.config.rate429,
      rate_5xx: this.config.rate5xx,
      endpoints: this.config.endpoints,
    }
    return {
      enabled: this.config !== null,
      config,
      since: this.since === null ? null : new Date(this.since).toISOString(),
      totals,
      endpoints,
    }
  }

  private countsFor(path: string): ChaosCounts {
    let counts = this.counts.get(path)
    if (!counts) {
      counts = emptyCounts()
      this.counts.set(path, counts)
    }
    return counts
  }
}

function applies(config: ChaosConfig, path: string): boolean {
  if (config.endpoints === null) return !EXCLUDED(path)
  return config.endpoints.includes(path) || (config.endpoints.includes('*') && !EXCLUDED(path))
}

const isRate = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1

/** POST /emulator/chaos body: `{latency_ms?: [min, max], latency_rate?, rate_429?, rate_5xx?, endpoints?}`. */
export function parseChaos(input: unknown): ChaosConfig | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object'
  const known = ['latency_ms', 'latency_rate', 'rate_429', 'rate_5xx', 'endpoints']
  const unknown = Object.keys(input).filter((k) => !known.includes(k))
  if (unknown.length > 0) return `unknown fields: ${unknown.join(', ')} (known: ${known.join(', ')})`
  const { latency_ms, latency_rate, rate_429 = 0, rate_5xx = 0, endpoints } = input as Record<string, unknown>

  let latencyMs: [number, number] | null = null
  if (latency_ms !== undefined && latency_ms !== null) {
    const ok =
      Array.isArray(latency_ms) &&
      latency_ms.length === 2 &&
      latency_ms.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 60_000) &&
      (latency_ms[0] as number) <= (latency_ms[1] as number)
    if (!ok) return 'latency_ms must be [min, max] in milliseconds, 0 <= min <= max <= 60000'
    latencyMs = [latency_ms[0] as number, latency_ms[1] as number]
  }
  // Latency on every call unless a share is given; a share without latency_ms has nothing to add.
  const latencyRate = latency_rate ?? (latencyMs ? 1 : 0)
  if (!isRate(latencyRate)) return 'latency_rate must be a number from 0 to 1'
  if (!isRate(rate_429)) return 'rate_429 must be a number from 0 to 1'
  if (!isRate(rate_5xx)) return 'rate_5xx must be a number from 0 to 1'
  if (rate_429 + rate_5xx > 1) return 'rate_429 + rate_5xx must not exceed 1'

  let paths: string[] | null = null
  if (endpoints !== undefined && endpoints !== null) {
    if (
      !Array.isArray(endpoints) ||
      !endpoints.every((e) => typeof e === 'string' && (e === '*' || e.startsWith('/')))
    ) {
      return 'endpoints must be a list of Plaid paths such as "/transactions/sync" (or "*": all but the excluded ones)'
    }
    paths = endpoints as string[]
  }
  return { latencyMs, latencyRate, rate429: rate_429, rate5xx: rate_5xx, endpoints: paths }
}
