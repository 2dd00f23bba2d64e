/** `npm run loadtest`'s settings (docs/loadtest.md): the env knobs, the users' habits and the thresholds. */
import { LIMITED_ROUTES, PLAID_CALLS_PER_MINUTE, RATE_LIMIT_PERIOD_SECONDS } from '../../src/routes/rate-limit-policy'
import { positiveInt } from '../lib/options'

export const USERS = positiveInt('LOADTEST_USERS', 200)
export const SEED = positiveInt('LOADTEST_SEED', Math.floor(Math.random() * 2 ** 31))
export const RAMP_MS = positiveInt('LOADTEST_RAMP_MS', 5000)
export const SETTLE_TIMEOUT_MS = positiveInt('LOADTEST_SETTLE_TIMEOUT_S', 180) * 1000
export const KEEP_STATE = process.env.LOADTEST_KEEP_STATE === '1'
export const BURST_WEBHOOKS = positiveInt('LOADTEST_BURST', 200)
export const WRANGLER_LOG_FILE = process.env.LOADTEST_WRANGLER_LOG
export const CHAOS: Record<string, unknown> = process.env.LOADTEST_CHAOS
  ? JSON.parse(process.env.LOADTEST_CHAOS)
  : { latency_ms: [0, 150], latency_rate: 0.3, rate_429: 0.05, rate_5xx: 0.05 }

/** The Worker's Plaid client id: the emulator keeps this run's Items under it. */
export const CLIENT_ID = 'loadtest-client-id'
export const INSTITUTIONS = ['ins_109508', 'ins_109509', 'ins_109510', 'ins_109511', 'ins_109512']
/** How often users take the optional steps. */
export const SHARE = {
  secondInstitution: 0.5,
  replayExchange: 0.15,
  doubleClick: 0.05,
  refreshBalances: 0.25,
  manualSync: 0.35,
  secondRound: 0.4,
  removeItem: 0.2,
  /** Users who press "refresh" over and over, until the API's per-user rate limit stops them. */
  hammer: 0.02,
}

/** The API's budget of Plaid-backed requests per user per period, as src/ and wrangler.toml set it. */
export const API_RATE_LIMIT = PLAID_CALLS_PER_MINUTE
export const RATE_LIMIT_PERIOD_S = RATE_LIMIT_PERIOD_SECONDS
/** The label of the hammering users' manual syncs: the same route, reported apart. */
export const HAMMER_ROUTE = 'POST /items/:item_id/sync (hammering)'
const LIMITED = new Set<string>([...LIMITED_ROUTES, HAMMER_ROUTE])

/**
 * Whether an answer spent the user's budget: the route is limited, and the request got past the
 * checks that come first (404/422 for an unknown Item or bad input; an exchange of a public token
 * already presented is answered from the user's Durable Object, 200 or a 409 about the token,
 * without Plaid; a 409 for an institution already linked did reach Plaid).
 */
export function spentBudget(x: { route: string; status: number; detail: string }): boolean {
  if (!LIMITED.has(x.route) || x.status === 429 || x.status === 404 || x.status === 422) return false
  if (x.route !== 'POST /exchange-token') return true
  return !(x.status === 200 || (x.status === 409 && x.detail.includes('public token')))
}

/** A frontend's patience: attempts per step, and the longest Retry-After it waits. */
export const MAX_ATTEMPTS = 5
export const MAX_RETRY_AFTER_MS = 15_000
export const REQUEST_TIMEOUT_MS = 60_000
/** Requests in flight during verification (the flows themselves run every user at once). */
export const VERIFY_CONCURRENCY = 16

/** The Plaid paths each API route calls: where an injected fault behind its answer can come from. */
export const PLAID_PATHS: Record<string, string[]> = {
  'POST /link-token': ['/link/token/create'],
  'POST /exchange-token': ['/item/public_token/exchange', '/accounts/get', '/item/remove'],
  'GET /accounts?refresh=true': ['/accounts/balance/get'],
  'POST /items/:item_id/sync': ['/transactions/sync'],
  [HAMMER_ROUTE]: ['/transactions/sync'],
  'DELETE /items/:item_id': ['/item/remove'],
  'POST /webhooks': ['/webhook_verification_key/get'],
}
/**
 * Lookups of the burst's new key the run accepts: one per isolate that saw the burst (wrangler dev
 * runs one), with room for a second. Were concurrent lookups not shared, each isolate would spend
 * up to its whole budget of 10 on it and refuse the rest of the burst with 401.
 */
export const MAX_BURST_KEY_FETCHES = 2
/** What wrangler's dev proxy (not the Worker) answers when its request to the Worker fails. */
export const WRANGLER_PROXY_503 = 'Your worker restarted mid-request.'
/** Plaid error types that mean "try again later" (the API passes them through as 400). */
export const TRANSIENT_PLAID_TYPES = new Set(['RATE_LIMIT_EXCEEDED', 'API_ERROR', 'INSTITUTION_ERROR'])

export const progress = (message: string) =>
  console.error(`[loadtest ${new Date().toISOString().slice(11, 19)}] ${message}`)
