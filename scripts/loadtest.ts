/**
 * `npm run loadtest`: many users at once run the whole Linked Accounts flow against the real
 * Worker (`wrangler dev`: local workerd, local D1 in a temp dir, local Queue) while the Plaid
 * emulator (in this process) injects latency, 429s and 5xx; then it checks the database and
 * prints figures as Markdown. Not part of `npm test`: it takes minutes and two busy cores.
 *
 * Each user, with their own bearer JWT: a link token; a Sandbox public token (Items are created
 * with `options.webhook` = the API's webhook route, and the emulator POSTs webhooks there for
 * real); the exchange (some users send the same public token again, a few double-click); for
 * about half, a second institution; the accounts (some with a live balance refresh); new,
 * modified and removed transactions at Plaid announced by SYNC_UPDATES_AVAILABLE, with some users
 * syncing by hand at the same moment; some remove an Item at the end; a few press "refresh" until
 * the API's per-user rate limit answers 429. Like a frontend, a step that answers 429, 5xx or a
 * transient Plaid error is retried with backoff (honouring Retry-After). Like Plaid, a webhook
 * that does not get a 200 is delivered again (1, 2, 4, 8 s later).
 *
 * Once the webhook-driven syncs settle, a cold-isolate burst: the emulator's signing key is rotated,
 * so no isolate has the new kid cached, and LOADTEST_BURST SYNC_UPDATES_AVAILABLE webhooks signed
 * with it are POSTed at once across the live Items (held until all are signed, then released
 * together). Each must get a 2xx at its first attempt (none 401), and the new key must have been
 * fetched from Plaid at least once and at most MAX_BURST_KEY_FETCHES times; the syncs they cause
 * must settle again.
 *
 * Then it verifies against the emulator (the truth):
 * (a) every live Item is listed once, by its owner only, and removed ones are gone;
 * (b) accounts match the emulator's, field by field; (c) each user's transactions (all pages)
 * equal the live transactions of their Items: none missing, duplicated, stale or resurrected;
 * (d) the raw D1 rows (`wrangler d1 execute`) and the raw files of the local state hold no
 * access or public token, and their row counts match the emulator's; (e) every exchange a browser
 * abandoned right after Plaid answered it (scripts/loadtest-disconnects.ts) ends with its Item
 * listed for its user, or removed at Plaid.
 *
 * Exits 1 on any unexplained 5xx (a 5xx is explained only when its detail shows an injected
 * fault of a Plaid path the route calls, and the chaos counters show such faults there), any
 * lost, duplicated, stale or extra row, any cross-user leak, any clear-text token, a broken
 * idempotency promise, a wrong rate limit, a request that got no answer, a 503 that wrangler's dev
 * proxy answered itself (no X-Request-Id) while wrangler reported a Worker restart or crash, a
 * webhook that never got its 200, or transactions that did not settle. Reported without failing
 * the run: the dev proxy's 503s while the Worker stayed up (its own connection to workerd failing
 * under load), Items the API could not finish linking nor remove again and logged as orphaned,
 * and steps that still failed after the frontend's retries.
 *
 * Env: LOADTEST_USERS (default 200), LOADTEST_SEED (the users' choices; default random, printed),
 * LOADTEST_CHAOS (JSON body for POST /emulator/chaos; default 0-150 ms on 30% of calls, 5% 429,
 * 5% 5xx), LOADTEST_RAMP_MS (users start within this window, default 5000),
 * LOADTEST_SETTLE_TIMEOUT_S (default 180), LOADTEST_BURST (webhooks in the cold-isolate burst,
 * default 200), LOADTEST_DISCONNECT_SHARE (users who abandon an exchange, default 0.1),
 * LOADTEST_PENDING_GRACE_S (the Worker's PENDING_LINK_GRACE_SECONDS, default 15), LOADTEST_KEEP_STATE=1 (keep the temp dir, printed),
 * LOADTEST_WRANGLER_LOG=<file> (write wrangler's output there).
 */

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join, relative } from 'node:path'
import { CHAOS_MARKER, type ChaosCounts } from '../emulator/chaos'
import type { WebhookDelivery } from '../emulator/control-types'
import type { PlaidTransaction } from '../src/plaid/types'
import {
  abandonedExchange,
  checkDisconnects,
  disconnectKind,
  disconnects,
  GRACE_SECONDS,
  onPlaidExchange,
  onWorkerLog,
  waitForDisconnects,
} from './loadtest-disconnects'
import {
  cleanup,
  d1Query,
  devToken,
  emulatorControl,
  emulatorControlOk,
  fmt,
  percentile,
  plaidCall,
  positiveInt,
  type Stack,
  sleep,
  startStack,
  stopGroup,
  table,
  tempDir,
} from './stack'
import { readUserObjects } from './user-objects'

// ---------------------------------------------------------------------------------------------
// Settings

const USERS = positiveInt('LOADTEST_USERS', 200)
const SEED = positiveInt('LOADTEST_SEED', Math.floor(Math.random() * 2 ** 31))
const RAMP_MS = positiveInt('LOADTEST_RAMP_MS', 5000)
const SETTLE_TIMEOUT_MS = positiveInt('LOADTEST_SETTLE_TIMEOUT_S', 180) * 1000
const KEEP_STATE = process.env.LOADTEST_KEEP_STATE === '1'
const BURST_WEBHOOKS = positiveInt('LOADTEST_BURST', 200)
const CHAOS: Record<string, unknown> = process.env.LOADTEST_CHAOS
  ? JSON.parse(process.env.LOADTEST_CHAOS)
  : { latency_ms: [0, 150], latency_rate: 0.3, rate_429: 0.05, rate_5xx: 0.05 }

/** The Worker's Plaid client id: the emulator keeps this run's Items under it. */
const CLIENT_ID = 'loadtest-client-id'
const INSTITUTIONS = ['ins_109508', 'ins_109509', 'ins_109510', 'ins_109511', 'ins_109512']
/** How often users take the optional steps. */
const SHARE = {
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
/** The API's budget of Plaid-backed requests per user per period (wrangler.toml [[ratelimits]]). */
const API_RATE_LIMIT = 30
const RATE_LIMIT_PERIOD_S = 60
/** The routes that spend it (src/routes: those that call limitPlaidCalls). */
const LIMITED_ROUTES = new Set([
  'POST /link-token',
  'POST /exchange-token',
  'GET /accounts?refresh=true',
  'POST /items/:item_id/sync',
  'POST /items/:item_id/sync (hammering)',
])
/**
 * Whether an answer spent the user's budget: the route is limited, and the request got past the
 * checks that come first (404/422 for an unknown Item or bad input; an exchange of a public token
 * already presented is answered from D1, 200 or a 409 about the token, without Plaid; a 409 for an
 * institution already linked did reach Plaid).
 */
function spentBudget(x: { route: string; status: number; detail: string }): boolean {
  if (!LIMITED_ROUTES.has(x.route) || x.status === 429 || x.status === 404 || x.status === 422) return false
  if (x.route !== 'POST /exchange-token') return true
  return !(x.status === 200 || (x.status === 409 && x.detail.includes('public token')))
}
/** A frontend's patience: attempts per step, and the longest Retry-After it waits. */
const MAX_ATTEMPTS = 5
const MAX_RETRY_AFTER_MS = 15_000
const REQUEST_TIMEOUT_MS = 60_000
/** Requests in flight during verification (the flows themselves run every user at once). */
const VERIFY_CONCURRENCY = 16

/** The Plaid paths each API route calls: where an injected fault behind its answer can come from. */
const PLAID_PATHS: Record<string, string[]> = {
  'POST /link-token': ['/link/token/create'],
  'POST /exchange-token': ['/item/public_token/exchange', '/accounts/get', '/item/remove'],
  'GET /accounts?refresh=true': ['/accounts/balance/get'],
  'POST /items/:item_id/sync': ['/transactions/sync'],
  'POST /items/:item_id/sync (hammering)': ['/transactions/sync'],
  'DELETE /items/:item_id': ['/item/remove'],
  'POST /webhooks': ['/webhook_verification_key/get'],
}
/**
 * Lookups of the burst's new key the run accepts: one per isolate that saw the burst (wrangler dev
 * runs one), with room for a second. Were concurrent lookups not shared, each isolate would spend
 * up to its whole budget of 10 on it and refuse the rest of the burst with 401.
 */
const MAX_BURST_KEY_FETCHES = 2
/** What wrangler's dev proxy (not the Worker) answers when its request to the Worker fails. */
const WRANGLER_PROXY_503 = 'Your worker restarted mid-request.'
/** Plaid error types that mean "try again later" (the API passes them through as 400). */
const TRANSIENT_PLAID_TYPES = new Set(['RATE_LIMIT_EXCEEDED', 'API_ERROR', 'INSTITUTION_ERROR'])

// ---------------------------------------------------------------------------------------------
// Helpers

/** mulberry32: a user's choices come from the seed, not from timing, so a seed replays a run's shape. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const between = (rng: () => number, min: number, max: number) => min + Math.floor(rng() * (max - min + 1))

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')
const progress = (message: string) => console.error(`[loadtest ${new Date().toISOString().slice(11, 19)}] ${message}`)

// ---------------------------------------------------------------------------------------------
// What happened: every answer, and the problems found

type Phase = 'flow' | 'settle' | 'verify' | 'webhook'
type Sample = {
  route: string
  phase: Phase
  status: number
  ms: number
  user: string
  detail: string
  errorType?: string
  errorCode?: string
  /** When the answer came, in seconds since the script started. */
  at: number
  /** When the request was sent, epoch ms. */
  sentAt: number
  /** The answer came from the Worker (it sets X-Request-Id), not from wrangler's dev proxy in front. */
  fromWorker: boolean
  requestId?: string
}
const samples: Sample[] = []
const t0 = performance.now()
const since = () => (performance.now() - t0) / 1000

type Problem = { kind: string; fatal: boolean; message: string }
const problems: Problem[] = []
const problem = (kind: string, fatal: boolean, message: string) => {
  problems.push({ kind, fatal, message })
}

const counters = {
  stepsRetried: 0,
  retries: 0,
  gaveUp: 0,
  relinks: 0,
  replays: 0,
  doubleClicks: 0,
  secondInstitutions: 0,
  refreshes: 0,
  manualSyncs: 0,
  secondRounds: 0,
  removals: 0,
  transactionChanges: 0,
  added: 0,
  modified: 0,
  removed: 0,
  publicTokens: 0,
}

/** What the Worker logged (JSON lines through wrangler's output). */
const workerLog = {
  messages: new Map<string, number>(),
  orphaned: new Set<string>(),
  /** The Worker's log line of each 5xx it answered, by request id (evidence for unexplained ones). */
  serverErrors: new Map<string, string>(),
  lastQueueActivity: 0,
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape codes is the point
const ANSI = /\x1b\[[0-9;]*m/g

/** wrangler's own lines about restarting the Worker (a source file changed, or workerd died). */
const restarts: { at: number; line: string }[] = []
const wranglerLog: string[] = []

function onWranglerLine(line: string): void {
  wranglerLog.push(`${new Date().toISOString()} ${line}`)
  // wrangler colours warn and error lines: drop the escape codes before reading the JSON.
  line = line.replace(ANSI, '')
  if (
    /reload|restart|updated and ready|segmentation|out of memory|crash|uncaught/i.test(line) &&
    !line.includes('{"level"')
  ) {
    restarts.push({ at: since(), line: line.trim() })
  }
  const start = line.indexOf('{"level"')
  if (start === -1) return
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line.slice(start))
  } catch {
    return
  }
  const message = String(entry.message)
  const key = typeof entry.status === 'number' ? `${message} (${entry.status})` : message
  workerLog.messages.set(key, (workerLog.messages.get(key) ?? 0) + 1)
  onWorkerLog(message, entry.item_id)
  if (entry.queue !== undefined || entry.message_id !== undefined) workerLog.lastQueueActivity = Date.now()
  if (message.startsWith('orphaned Plaid item') && typeof entry.item_id === 'string')
    workerLog.orphaned.add(entry.item_id)
  if (typeof entry.status === 'number' && entry.status >= 500 && typeof entry.request_id === 'string') {
    workerLog.serverErrors.set(entry.request_id, line.slice(start))
  }
}

// ---------------------------------------------------------------------------------------------
// Talking to the API and the emulator

let stack: Stack
let webhookUrl: string

type Answer = { status: number; body: Record<string, unknown>; text: string; headers: Headers | null; ms: number }
type StepResult = Answer & { ok: boolean; attempts: number }

type User = {
  index: number
  id: string
  token: string
  plan: Plan
  /** Items this user linked and has not removed, as the API answered. */
  items: string[]
  /** Items this user removed (204). */
  removed: string[]
}

/** One HTTP request to the API, recorded. `path` is under /api/v1/banking. */
async function call(
  user: User,
  method: string,
  path: string,
  route: string,
  phase: Phase,
  body?: unknown,
): Promise<Answer> {
  const headers: Record<string, string> = { Authorization: `Bearer ${user.token}` }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const t0 = performance.now()
  let answer: Answer
  const done = inFlight()
  try {
    const res = await fetch(`${stack.apiUrl}/api/v1/banking${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    const text = await res.text()
    let json: Record<string, unknown> = {}
    try {
      json = text ? JSON.parse(text) : {}
    } catch {}
    answer = { status: res.status, body: json, text, headers: res.headers, ms: performance.now() - t0 }
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    answer = { status: 0, body: {}, text, headers: null, ms: performance.now() - t0 }
  } finally {
    done()
  }
  samples.push({
    route,
    phase,
    status: answer.status,
    ms: answer.ms,
    user: user.id,
    detail: typeof answer.body.detail === 'string' ? answer.body.detail : answer.text.slice(0, 200),
    errorType: typeof answer.body.error_type === 'string' ? answer.body.error_type : undefined,
    errorCode: typeof answer.body.error_code === 'string' ? answer.body.error_code : undefined,
    at: since(),
    sentAt: Date.now() - answer.ms,
    fromWorker: answer.headers?.has('X-Request-Id') ?? false,
    requestId: answer.headers?.get('X-Request-Id') ?? undefined,
  })
  return answer
}

/** Worth trying again, as a frontend would: rate limited, a server error, a transient Plaid error. */
function transient(a: Answer): boolean {
  if (a.status === 0 || a.status === 429 || a.status >= 500) return true
  if (a.status === 400) return TRANSIENT_PLAID_TYPES.has(String(a.body.error_type))
  // A manual sync that lost the cursor race to webhook syncs too often: "try again".
  if (a.status === 409) return String(a.body.detail).includes('kept moving its cursor')
  return false
}

/** A user step: the request, retried with backoff while it fails transiently. */
async function step(
  user: User,
  method: string,
  path: string,
  route: string,
  expect: number[],
  body?: unknown,
): Promise<StepResult> {
  for (let attempt = 1; ; attempt++) {
    const answer = await call(user, method, path, route, 'flow', body)
    if (expect.includes(answer.status)) return { ...answer, ok: true, attempts: attempt }
    if (!transient(answer) || attempt >= MAX_ATTEMPTS) {
      if (transient(answer)) counters.gaveUp++
      return { ...answer, ok: false, attempts: attempt }
    }
    if (attempt === 1) counters.stepsRetried++
    counters.retries++
    const retryAfter = Number(answer.headers?.get('Retry-After'))
    const delay =
      answer.status === 429 && retryAfter > 0
        ? Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS)
        : Math.min(4000, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random())
    await sleep(delay)
  }
}

function unexpected(user: User, what: string, result: StepResult): void {
  const gaveUp = transient(result)
  problem(
    gaveUp ? 'step gave up after retries' : 'unexpected status',
    false,
    `${user.id}: ${what}: ${result.status} after ${result.attempts} attempt(s): ${result.text.slice(0, 300)}`,
  )
}

// The emulator, under this run's client id (the stack's). Plaid's own endpoints: Sandbox ones are outside chaos.
const plaid = (path: string, body: unknown) => plaidCall(stack, path, body)
const control = (method: string, path: string, body?: unknown) => emulatorControl(stack, method, path, body)
const controlOk = <T>(method: string, path: string, body?: unknown) => emulatorControlOk<T>(stack, method, path, body)

/** Webhook deliveries (not attempts), and those never answered 200. */
const webhookDeliveries = { total: 0, retried: 0, lost: 0 }

/** Requests to the API open at once, and the most seen: how concurrent the run really was. */
const concurrency = { now: 0, peak: 0 }
function inFlight(): () => void {
  concurrency.peak = Math.max(concurrency.peak, ++concurrency.now)
  return () => {
    concurrency.now--
  }
}

/** How the emulator delivers each webhook: one of the cold-isolate burst waits for its release first. */
async function deliverWebhook(delivery: WebhookDelivery): Promise<void> {
  if (coldBurst.kid === null || kidOf(delivery.headers['Plaid-Verification']) !== coldBurst.kid) {
    return deliverWithRetries(delivery)
  }
  await coldBurst.released
  await deliverWithRetries(delivery, (answer) => coldBurst.first.push({ ...answer, at: performance.now() }))
  coldBurst.finished++
}

/** The `kid` a Plaid-Verification header names. */
function kidOf(verification: string | undefined): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(verification?.split('.')[0] ?? '', 'base64url').toString()) as {
      kid?: unknown
    }
    return typeof header.kid === 'string' ? header.kid : undefined
  } catch {
    return undefined
  }
}

/**
 * The emulator POSTs each webhook to the Item's URL (its default delivery does the same); this one
 * also records every attempt and, like Plaid, retries a delivery that did not get a 200 (Plaid:
 * up to 4 more times over 24 hours; here 1, 2, 4 and 8 s apart), so one failed POST does not
 * silently lose a sync. Every failed attempt is still reported and classified.
 */
async function deliverWithRetries(
  { url, headers, body }: WebhookDelivery,
  onFirstAttempt?: (answer: { status: number; ms: number; detail: string }) => void,
): Promise<void> {
  webhookDeliveries.total++
  for (let attempt = 1; attempt <= 5; attempt++) {
    const t0 = performance.now()
    let status = 0
    let text = ''
    let fromWorker = false
    const done = inFlight()
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      text = await res.text()
      status = res.status
      fromWorker = res.headers.has('X-Request-Id')
    } catch (error) {
      text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    } finally {
      done()
    }
    let detail = text.slice(0, 200)
    try {
      const parsed = JSON.parse(text) as { detail?: unknown }
      if (typeof parsed.detail === 'string') detail = parsed.detail
    } catch {}
    const ms = performance.now() - t0
    samples.push({
      route: 'POST /webhooks',
      phase: 'webhook',
      status,
      ms,
      user: 'plaid',
      detail,
      fromWorker,
      at: since(),
      sentAt: Date.now() - ms,
    })
    if (attempt === 1) onFirstAttempt?.({ status, ms, detail })
    if (status === 200) return
    if (attempt === 1) webhookDeliveries.retried++
    await sleep(1000 * 2 ** (attempt - 1))
  }
  webhookDeliveries.lost++
  problem('lost webhook', true, `a webhook to ${url} got no 200 in 5 attempts: ${body.slice(0, 200)}`)
}

// ---------------------------------------------------------------------------------------------
// The users

type Change = { add: number; modify: number; remove: number }
type Plan = {
  startDelayMs: number
  institutions: string[]
  replay: boolean[]
  doubleClick: boolean[]
  refresh: boolean
  manualSync: boolean
  /** Per linked Item: the first change, and the second round's if any. */
  changes: Change[][]
  removeIndex: number | null
  /** Presses "refresh" until the API's per-user limit answers 429. */
  hammer: boolean
}

/** Every choice up front, from the user's own PRNG, so timing cannot change what a seed does. */
function makePlan(rng: () => number): Plan {
  const shuffled = [...INSTITUTIONS]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string]
  }
  const institutions = shuffled.slice(0, rng() < SHARE.secondInstitution ? 2 : 1)
  const replay = institutions.map(() => rng() < SHARE.replayExchange)
  const doubleClick = replay.map((r) => !r && rng() < SHARE.doubleClick)
  const refresh = rng() < SHARE.refreshBalances
  const manualSync = rng() < SHARE.manualSync
  const secondRound = rng() < SHARE.secondRound
  const changes = institutions.map(() => {
    const first = { add: between(rng, 10, 20), modify: between(rng, 2, 6), remove: between(rng, 1, 4) }
    return secondRound
      ? [first, { add: between(rng, 3, 8), modify: between(rng, 1, 3), remove: between(rng, 0, 2) }]
      : [first]
  })
  const removeIndex = rng() < SHARE.removeItem ? between(rng, 0, institutions.length - 1) : null
  const hammer = rng() < SHARE.hammer
  return {
    startDelayMs: rng() * RAMP_MS,
    institutions,
    replay,
    doubleClick,
    refresh,
    manualSync,
    changes,
    removeIndex,
    hammer,
  }
}

/** item_id -> the user whose exchange returned it. */
const owners = new Map<string, string>()

function adopt(user: User, itemId: string): void {
  const owner = owners.get(itemId)
  if (owner !== undefined && owner !== user.id) {
    problem('cross-user leak', true, `exchange for ${user.id} answered ${itemId}, which ${owner} linked`)
    return
  }
  owners.set(itemId, user.id)
  if (!user.items.includes(itemId)) user.items.push(itemId)
}

const itemIdOf = (a: Answer) => (a.body.item as { item_id?: unknown } | undefined)?.item_id

async function sandboxPublicToken(institution: string): Promise<string> {
  counters.publicTokens++
  const data = await plaid('/sandbox/public_token/create', {
    institution_id: institution,
    initial_products: ['transactions', 'auth'],
    options: { webhook: webhookUrl },
  })
  return data.public_token as string
}

/** Link (the frontend's link token, then Link's public token) and the exchange. */
async function link(user: User, n: number): Promise<void> {
  const institution = user.plan.institutions[n] as string
  const linkToken = await step(user, 'POST', '/link-token', 'POST /link-token', [200], {})
  if (!linkToken.ok) unexpected(user, 'link token', linkToken) // the frontend could not open Link; carry on as if it had
  for (let relink = 0; relink < 3; relink++) {
    const publicToken = await sandboxPublicToken(institution)
    const exchange = () =>
      step(user, 'POST', '/exchange-token', 'POST /exchange-token', [201, 200], { public_token: publicToken })
    let result: StepResult
    // A failed attempt can spend the public token at Plaid (the exchange went through, a later
    // call failed and the API removed the Item again): then the user has to go through Link again.
    let spentByFailure: boolean
    if (user.plan.doubleClick[n]) {
      counters.doubleClicks++
      const pair = await Promise.all([exchange(), exchange()])
      checkDoubleClick(user, pair)
      result = pair.find((r) => r.ok) ?? pair.find(spent) ?? (pair[0] as StepResult)
      spentByFailure = !pair.some((r) => r.ok) && pair.some(spent)
    } else {
      result = await exchange()
      spentByFailure = spent(result) && result.attempts > 1
    }
    if (result.ok) {
      const itemId = itemIdOf(result)
      if (typeof itemId !== 'string') {
        problem('wrong answer', true, `${user.id}: exchange answered ${result.status} without item.item_id`)
        return
      }
      adopt(user, itemId)
      if (user.plan.replay[n]) {
        counters.replays++
        const again = await exchange()
        if (again.status !== 200 || itemIdOf(again) !== itemId) {
          problem(
            'idempotency',
            true,
            `${user.id}: the same public token again answered ${again.status} ${again.text.slice(0, 200)} (expected 200 with ${itemId})`,
          )
        }
      }
      return
    }
    if (spentByFailure) {
      counters.relinks++
      continue
    }
    if (result.status === 409 && typeof result.body.item_id === 'string') adopt(user, result.body.item_id)
    unexpected(user, `exchange (${institution})`, result)
    return
  }
  problem('step gave up after retries', false, `${user.id}: exchange (${institution}) failed through 3 public tokens`)
}

/** A bank the user links and whose exchange the browser abandons (scripts/loadtest-disconnects.ts). */
async function abandonLink(user: User): Promise<void> {
  // One the user does not link otherwise: the same login twice would be a duplicate (409).
  const institution = INSTITUTIONS.find((i) => !user.plan.institutions.includes(i)) as string
  const publicToken = await sandboxPublicToken(institution)
  const { itemId, answered } = await abandonedExchange(stack, user, disconnectKind(user.index), publicToken)
  if (itemId === undefined) return
  // The user never saw it (or saw an error), but it is theirs: verification expects it listed for
  // them if it is live at Plaid. Only an Item the API answered is one the user's flow goes on with.
  owners.set(itemId, user.id)
  if (answered?.status === 201) adopt(user, itemId)
}

const spent = (r: Answer) => r.status === 400 && r.body.error_code === 'INVALID_PUBLIC_TOKEN'

/** Two exchanges of one public token at once: one Item at most, and both answers must agree. */
function checkDoubleClick(user: User, pair: StepResult[]): void {
  const created = pair.filter((r) => r.status === 201)
  const items = new Set(pair.filter((r) => r.ok).map(itemIdOf))
  if (created.length > 1 || items.size > 1) {
    problem(
      'duplicate row',
      true,
      `${user.id}: a double-clicked exchange answered ${pair.map((r) => `${r.status} ${String(itemIdOf(r))}`).join(' and ')}`,
    )
  }
  for (const r of pair) {
    const acceptable =
      r.ok ||
      (r.status === 409 && String(r.body.detail).includes('being exchanged')) ||
      (spent(r) && !pair.some((other) => other.ok))
    if (!acceptable) unexpected(user, 'double-clicked exchange', r)
  }
}

async function changeTransactions(user: User, itemId: string, change: Change): Promise<void> {
  const res = await control('POST', `/items/${itemId}/transactions`, { ...change, fire_webhook: true })
  if (res.status !== 200) {
    problem('load generator', false, `${user.id}: emulator refused a transaction change for ${itemId}: ${res.status}`)
    return
  }
  counters.transactionChanges++
  counters.added += change.add
  counters.modified += change.modify
  counters.removed += change.remove
}

async function sync(user: User, itemId: string): Promise<void> {
  counters.manualSyncs++
  const result = await step(user, 'POST', `/items/${itemId}/sync`, 'POST /items/:item_id/sync', [200], {})
  if (!result.ok) unexpected(user, `manual sync of ${itemId}`, result)
}

/** What the users who hammered "refresh" saw of the API's rate limit. */
const rateLimitChecks: { user: string; allowed: number; retryAfter: string | null; limited: boolean }[] = []

/**
 * Manual syncs one after another (not retried) until the first 429: it must come, with
 * Retry-After, once the user has spent the minute's budget of Plaid-backed requests.
 */
async function hammer(user: User, itemId: string): Promise<void> {
  const started = since()
  // Twice the budget and a margin: a window that rolls over mid-burst starts the count again.
  const attempts = 2 * API_RATE_LIMIT + 5
  for (let i = 0; i < attempts; i++) {
    const res = await call(user, 'POST', `/items/${itemId}/sync`, 'POST /items/:item_id/sync (hammering)', 'flow', {})
    if (res.status !== 429) continue
    // The limiter counts in fixed windows aligned to the clock (miniflare's, like Cloudflare's
    // own): count the requests this user sent since the current window began, on the routes that
    // spend the budget, that the Worker answered with anything but 429 (a request sent just
    // before the boundary may have been counted after it: that only lowers the count).
    const windowStart = Math.floor(Date.now() / (RATE_LIMIT_PERIOD_S * 1000)) * RATE_LIMIT_PERIOD_S * 1000
    const allowed = samples.filter(
      (x) => x.user === user.id && x.fromWorker && x.sentAt >= windowStart && spentBudget(x),
    ).length
    rateLimitChecks.push({ user: user.id, allowed, retryAfter: res.headers?.get('Retry-After') ?? null, limited: true })
    return
  }
  rateLimitChecks.push({ user: user.id, allowed: -1, retryAfter: null, limited: false })
  problem('rate limit', true, `${user.id}: ${attempts} manual syncs from ${fmt(started, 1)} s on, and no 429`)
}

async function runUser(user: User): Promise<void> {
  const { plan } = user
  await sleep(plan.startDelayMs)
  if (disconnects(user.index)) await abandonLink(user)
  await link(user, 0)
  if (plan.institutions.length > 1) {
    counters.secondInstitutions++
    await link(user, 1)
  }
  const accounts = await step(user, 'GET', '/accounts', 'GET /accounts', [200])
  if (!accounts.ok) unexpected(user, 'accounts', accounts)
  if (plan.refresh) {
    counters.refreshes++
    const refreshed = await step(user, 'GET', '/accounts?refresh=true', 'GET /accounts?refresh=true', [200])
    if (!refreshed.ok) unexpected(user, 'accounts with live balances', refreshed)
  }
  // New activity at the bank, announced by webhook; some users press "refresh" at the same moment.
  const items = [...user.items]
  const rounds = Math.max(0, ...plan.changes.map((c) => c.length))
  if (rounds > 1) counters.secondRounds++
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await sleep(500 + Math.random() * 1500)
    await Promise.all(
      items.map(async (itemId, i) => {
        const change = plan.changes[i]?.[round] ?? plan.changes[0]?.[round]
        if (!change) return
        await changeTransactions(user, itemId, change)
        if (plan.manualSync) await sync(user, itemId)
      }),
    )
  }
  if (plan.hammer && items.length > 0) await hammer(user, items[0] as string)
  if (plan.removeIndex !== null && items.length > 0) {
    const itemId = items[plan.removeIndex % items.length] as string
    counters.removals++
    const result = await step(user, 'DELETE', `/items/${itemId}`, 'DELETE /items/:item_id', [204])
    // 404 after a failed attempt: that attempt removed it before its answer was lost.
    if (result.ok || (result.status === 404 && result.attempts > 1)) {
      user.items = user.items.filter((id) => id !== itemId)
      user.removed.push(itemId)
    } else unexpected(user, `remove ${itemId}`, result)
  }
}

// ---------------------------------------------------------------------------------------------
// The cold-isolate burst

type BurstAnswer = { status: number; ms: number; detail: string; at: number }

/**
 * Webhooks signed with a key just rotated in. None is POSTed until all are signed, so they reach
 * the Worker together, as Plaid's bursts do, while no isolate holds the new kid.
 */
const coldBurst = {
  kid: null as string | null,
  released: Promise.resolve(),
  /** The first attempt of each delivery. */
  first: [] as BurstAnswer[],
  /** Deliveries done (a 200, or given up after 5 attempts). */
  finished: 0,
}

type BurstFigures = {
  fired: number
  items: number
  /** First attempts answered 2xx, 401, and anything else. */
  ok: number
  refused: number
  other: number
  p50Ms: number
  p99Ms: number
  /** From the release to the last first answer. */
  wallMs: number
  keyFetches: number
  previousKeyReads: number
}

async function runColdBurst(truth: Truth): Promise<BurstFigures> {
  const items = [...truth.live.keys()]
  const lookups = async () =>
    controlOk<{ keys: { kid: string }[]; lookups: Record<string, number> }>('GET', '/webhook-keys')
  const before = await lookups()
  const previousKid = before.keys.at(-1)?.kid ?? ''
  // The previous key stays valid, so webhooks still being retried keep verifying.
  const { key } = await controlOk<{ key: { kid: string } }>('POST', '/webhook-keys/rotate', { expire_previous: false })
  let release = () => {}
  coldBurst.released = new Promise<void>((resolve) => {
    release = resolve
  })
  coldBurst.kid = key.kid
  const fires = await Promise.all(
    Array.from({ length: items.length === 0 ? 0 : BURST_WEBHOOKS }, (_, i) =>
      control('POST', `/items/${items[i % items.length]}/fire-webhook`, { webhook_code: 'SYNC_UPDATES_AVAILABLE' }),
    ),
  )
  const refused = fires.filter((f) => f.status !== 200)
  if (fires.length === 0) problem('cold burst', true, 'no live Item to send the burst for')
  for (const f of refused.slice(0, 5)) {
    problem('cold burst', true, `the emulator did not fire a burst webhook: ${f.status} ${JSON.stringify(f.body)}`)
  }
  const fired = fires.length - refused.length
  const releasedAt = performance.now()
  release()
  // Each delivery ends within its 5 attempts: their timeouts plus 15 s of backoff.
  const deadline = Date.now() + 5 * REQUEST_TIMEOUT_MS + 15_000
  while (coldBurst.finished < fired && Date.now() < deadline) await sleep(100)
  if (coldBurst.finished < fired) problem('cold burst', true, `${fired - coldBurst.finished} deliveries still running`)
  const after = await lookups()
  const ok = (x: BurstAnswer) => x.status >= 200 && x.status < 300
  const ms = coldBurst.first.map((x) => x.ms).sort((a, b) => a - b)
  const figures: BurstFigures = {
    fired,
    items: Math.min(items.length, fired),
    ok: coldBurst.first.filter(ok).length,
    refused: coldBurst.first.filter((x) => x.status === 401).length,
    other: coldBurst.first.filter((x) => !ok(x) && x.status !== 401).length,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    wallMs: Math.max(0, ...coldBurst.first.map((a) => a.at - releasedAt)),
    keyFetches: after.lookups[key.kid] ?? 0,
    previousKeyReads: (after.lookups[previousKid] ?? 0) - (before.lookups[previousKid] ?? 0),
  }

  let failures = 0
  for (const a of coldBurst.first.filter((x) => !ok(x))) {
    failures++
    problem(
      `cold burst: ${a.status === 401 ? '401' : 'not 2xx'} at the first attempt`,
      true,
      `${a.status}: ${a.detail}`,
    )
  }
  if (figures.keyFetches < 1 || figures.keyFetches > MAX_BURST_KEY_FETCHES) {
    failures++
    problem('cold burst: key fetches', true, `the new key was fetched ${figures.keyFetches} times`)
  }
  checks.push({
    name: `Cold-isolate burst: ${BURST_WEBHOOKS} genuine webhooks at once, signed with a key no isolate has cached, each answered 2xx at its first attempt (none 401); the new key fetched from Plaid 1 to ${MAX_BURST_KEY_FETCHES} times`,
    compared: `${coldBurst.first.length} first attempts: ${figures.ok} 2xx, ${figures.refused} 401, ${figures.other} other; new key fetched ${figures.keyFetches}×`,
    failures,
  })
  return figures
}

// ---------------------------------------------------------------------------------------------
// Verification

type EmulatorItem = {
  item_id: string
  institution_id: string
  access_token: string | null
  removed: boolean
  account_ids: string[]
}
type ApiTransaction = Omit<PlaidTransaction, 'personal_finance_category'> & {
  item_id: string
  category: { primary: string; detailed: string } | null
}
type PlaidAccount = {
  account_id: string
  name: string
  official_name: string | null
  mask: string | null
  type: string
  subtype: string | null
  balances: { available: number | null; current: number | null; limit: number | null; iso_currency_code: string | null }
}
type ApiAccount = PlaidAccount & { item_id: string }

/** Plaid's truth after the flows: Items (live = exchanged and not removed) and their live transactions. */
type Truth = {
  items: EmulatorItem[]
  live: Map<string, EmulatorItem>
  transactions: Map<string, PlaidTransaction[]>
}

async function readTruth(): Promise<Truth> {
  const { items } = await controlOk<{ items: EmulatorItem[] }>('GET', '/items')
  const live = new Map(items.filter((i) => !i.removed && i.access_token !== null).map((i) => [i.item_id, i]))
  const transactions = new Map<string, PlaidTransaction[]>()
  await mapLimit([...live.keys()], VERIFY_CONCURRENCY, async (itemId) => {
    const data = await controlOk<{ transactions: PlaidTransaction[] }>('GET', `/items/${itemId}/transactions`)
    transactions.set(itemId, data.transactions)
  })
  return { items, live, transactions }
}

/** What a user should see: the live Items the user linked, with their transactions. */
function expectedTransactions(truth: Truth, user: User): Map<string, { itemId: string; t: PlaidTransaction }> {
  const expected = new Map<string, { itemId: string; t: PlaidTransaction }>()
  for (const [itemId, item] of truth.live) {
    if (owners.get(item.item_id) !== user.id) continue
    for (const t of truth.transactions.get(itemId) ?? []) expected.set(t.transaction_id, { itemId, t })
  }
  return expected
}

async function listAllTransactions(
  user: User,
  phase: Phase,
): Promise<{ ok: true; list: ApiTransaction[] } | { ok: false; error: string }> {
  const list: ApiTransaction[] = []
  let cursor: string | null = null
  for (let page = 0; page < 1000; page++) {
    const query = new URLSearchParams({ limit: '500', ...(cursor ? { cursor } : {}) })
    const res = await call(user, 'GET', `/transactions?${query}`, 'GET /transactions', phase)
    if (res.status !== 200) return { ok: false, error: `${res.status} ${res.text.slice(0, 200)}` }
    list.push(...(res.body.transactions as ApiTransaction[]))
    cursor = res.body.next_cursor as string | null
    if (!cursor) return { ok: true, list }
  }
  return { ok: false, error: 'more than 1000 pages' }
}

type TransactionDiff = { missing: string[]; extra: string[]; duplicated: string[]; different: string[] }

function compareTransactions(
  listed: ApiTransaction[],
  expected: Map<string, { itemId: string; t: PlaidTransaction }>,
): TransactionDiff {
  const seen = new Set<string>()
  const diff: TransactionDiff = { missing: [], extra: [], duplicated: [], different: [] }
  for (const a of listed) {
    if (seen.has(a.transaction_id)) diff.duplicated.push(a.transaction_id)
    seen.add(a.transaction_id)
    const e = expected.get(a.transaction_id)
    if (!e) {
      diff.extra.push(a.transaction_id)
      continue
    }
    const { t } = e
    const category = t.personal_finance_category
    const same =
      a.item_id === e.itemId &&
      a.account_id === t.account_id &&
      a.amount === t.amount &&
      a.date === t.date &&
      a.authorized_date === t.authorized_date &&
      a.name === t.name &&
      a.merchant_name === t.merchant_name &&
      a.pending === t.pending &&
      a.pending_transaction_id === t.pending_transaction_id &&
      a.payment_channel === t.payment_channel &&
      a.iso_currency_code === t.iso_currency_code &&
      a.unofficial_currency_code === t.unofficial_currency_code &&
      a.category?.primary === category?.primary &&
      a.category?.detailed === category?.detailed
    if (!same) diff.different.push(a.transaction_id)
  }
  for (const id of expected.keys()) if (!seen.has(id)) diff.missing.push(id)
  return diff
}

const clean = (d: TransactionDiff) => d.missing.length + d.extra.length + d.duplicated.length + d.different.length === 0

/** Polls until every user's transactions equal Plaid's and the queue has been quiet for a while. */
async function settle(
  users: User[],
  truth: Truth,
): Promise<{ ms: number; settled: boolean; rounds: number; pending: User[] }> {
  const started = Date.now()
  const deadline = started + SETTLE_TIMEOUT_MS
  let pending = users
  let rounds = 0
  while (Date.now() < deadline) {
    rounds++
    const results = await mapLimit(pending, VERIFY_CONCURRENCY, async (user) => {
      const listed = await listAllTransactions(user, 'settle')
      return listed.ok && clean(compareTransactions(listed.list, expectedTransactions(truth, user)))
    })
    pending = pending.filter((_, i) => !results[i])
    const quietFor = Date.now() - workerLog.lastQueueActivity
    progress(
      `settle round ${rounds}: ${users.length - pending.length}/${users.length} users match Plaid; queue quiet for ${fmt(quietFor / 1000, 1)} s`,
    )
    // Matching is not enough: a late webhook sync could still change (or break) a matching list.
    if (pending.length === 0 && quietFor >= 5000) return { ms: Date.now() - started, settled: true, rounds, pending }
    await sleep(2000)
  }
  return { ms: Date.now() - started, settled: false, rounds, pending }
}

type Check = { name: string; compared: string; failures: number }
const checks: Check[] = []

async function verifyThroughApi(users: User[], truth: Truth): Promise<void> {
  const emulatorItem = new Map(truth.items.map((i) => [i.item_id, i]))

  // (a) Items
  let failures = 0
  const listedBy = new Map<string, string[]>()
  await mapLimit(users, VERIFY_CONCURRENCY, async (user) => {
    const res = await call(user, 'GET', '/items', 'GET /items', 'verify')
    if (res.status !== 200) {
      failures++
      problem('verification', true, `${user.id}: GET /items answered ${res.status} ${res.text.slice(0, 200)}`)
      return
    }
    const ids = (res.body.items as { item_id: string }[]).map((i) => i.item_id)
    listedBy.set(user.id, ids)
    for (const id of new Set(ids)) {
      const times = ids.filter((x) => x === id).length
      if (times > 1) {
        failures++
        problem('duplicate row', true, `${user.id}: GET /items lists ${id} ${times} times`)
      }
      const owner = owners.get(id)
      if (owner !== user.id) {
        failures++
        problem(
          'cross-user leak',
          true,
          `${user.id}: GET /items lists ${id}, ${owner ? `which ${owner} linked` : 'which no exchange answered to this user'}`,
        )
      }
      const item = emulatorItem.get(id)
      if (!item || item.removed) {
        failures++
        problem(
          'stale row',
          true,
          `${user.id}: GET /items lists ${id}, which is ${item ? 'removed at Plaid' : 'unknown to Plaid'}`,
        )
      }
    }
    for (const id of user.removed) {
      if (ids.includes(id)) {
        failures++
        problem('resurrected', true, `${user.id}: GET /items still lists ${id}, removed with 204`)
      }
    }
  })
  let orphans = 0
  for (const item of truth.live.values()) {
    const owner = owners.get(item.item_id)
    if (owner === undefined) {
      orphans++
      // The API removes an Item it could not finish linking; when that removal fails too it logs
      // the orphan for an operator (documented). Anything else is an Item nobody can see.
      const logged = workerLog.orphaned.has(item.item_id)
      if (!logged) failures++
      problem(
        logged ? 'orphaned at Plaid (logged by the API)' : 'lost row',
        !logged,
        `${item.item_id} (${item.institution_id}) is live at Plaid but no user's exchange answered it${logged ? '; the API logged it as orphaned' : ''}`,
      )
      continue
    }
    const times = (listedBy.get(owner) ?? []).filter((id) => id === item.item_id).length
    if (times !== 1) {
      failures++
      problem('lost row', true, `${owner}: GET /items lists live Item ${item.item_id} ${times} times (expected once)`)
    }
  }
  for (const user of users) {
    for (const id of user.items) {
      if (!truth.live.has(id)) {
        failures++
        problem(
          'lost row',
          true,
          `${user.id}: Item ${id} was linked (and not removed by the user) but Plaid says it is gone`,
        )
      }
    }
    for (const id of user.removed) {
      if (!emulatorItem.get(id)?.removed) {
        failures++
        problem('stale row', true, `${user.id}: Item ${id} was removed (204) but is still live at Plaid`)
      }
    }
  }
  const ownedLive = [...truth.live.values()].filter((i) => owners.has(i.item_id)).length
  checks.push({
    name: '(a) Items: each live Plaid Item listed exactly once, by its owner only; removed Items gone',
    compared: `${truth.live.size} live Items (${ownedLive} linked by users, ${orphans} orphaned), ${users.reduce((n, u) => n + u.removed.length, 0)} removed, ${users.length} users' lists`,
    failures,
  })

  // (b) Accounts, against Plaid's /accounts/get (chaos is off by now).
  failures = 0
  const plaidAccounts = new Map<string, PlaidAccount & { item_id: string }>()
  await mapLimit([...truth.live.values()], VERIFY_CONCURRENCY, async (item) => {
    const data = await plaid('/accounts/get', { access_token: item.access_token })
    for (const a of data.accounts as PlaidAccount[]) plaidAccounts.set(a.account_id, { ...a, item_id: item.item_id })
  })
  let accountsCompared = 0
  await mapLimit(users, VERIFY_CONCURRENCY, async (user) => {
    const res = await call(user, 'GET', '/accounts', 'GET /accounts', 'verify')
    if (res.status !== 200) {
      failures++
      problem('verification', true, `${user.id}: GET /accounts answered ${res.status} ${res.text.slice(0, 200)}`)
      return
    }
    const listed = res.body.accounts as ApiAccount[]
    const expected = [...plaidAccounts.values()].filter((a) => owners.get(a.item_id) === user.id)
    const seen = new Set<string>()
    for (const a of listed) {
      accountsCompared++
      if (seen.has(a.account_id)) {
        failures++
        problem('duplicate row', true, `${user.id}: account ${a.account_id} listed twice`)
      }
      seen.add(a.account_id)
      const p = plaidAccounts.get(a.account_id)
      if (!p || owners.get(p.item_id) !== user.id) {
        failures++
        problem(
          p ? 'cross-user leak' : 'stale row',
          true,
          `${user.id}: account ${a.account_id} (Item ${a.item_id}) is ${p ? `${owners.get(p.item_id)}'s` : 'not a live account at Plaid'}`,
        )
        continue
      }
      const b = p.balances
      const same =
        a.item_id === p.item_id &&
        a.name === p.name &&
        a.official_name === p.official_name &&
        a.mask === p.mask &&
        a.type === p.type &&
        a.subtype === p.subtype &&
        a.balances.available === b.available &&
        a.balances.current === b.current &&
        a.balances.limit === b.limit &&
        a.balances.iso_currency_code === b.iso_currency_code
      if (!same) {
        failures++
        problem(
          'stale row',
          true,
          `${user.id}: account ${a.account_id} differs: API ${JSON.stringify(a)} vs Plaid ${JSON.stringify(p)}`,
        )
      }
    }
    for (const p of expected) {
      if (!seen.has(p.account_id)) {
        failures++
        problem(
          'lost row',
          true,
          `${user.id}: account ${p.account_id} of Item ${p.item_id} is missing from GET /accounts`,
        )
      }
    }
  })
  checks.push({
    name: "(b) Accounts: GET /accounts equals Plaid /accounts/get for the user's live Items (ids, Item, names, mask, type, balances)",
    compared: `${accountsCompared} accounts listed, ${[...plaidAccounts.values()].filter((a) => owners.has(a.item_id)).length} at Plaid for linked Items`,
    failures,
  })

  // (c) Transactions, all pages.
  failures = 0
  let compared = 0
  let expectedTotal = 0
  await mapLimit(users, VERIFY_CONCURRENCY, async (user) => {
    const listed = await listAllTransactions(user, 'verify')
    if (!listed.ok) {
      failures++
      problem('verification', true, `${user.id}: GET /transactions failed: ${listed.error}`)
      return
    }
    const expected = expectedTransactions(truth, user)
    compared += listed.list.length
    expectedTotal += expected.size
    const diff = compareTransactions(listed.list, expected)
    const report = (kind: string, ids: string[], what: string) => {
      if (ids.length === 0) return
      failures += ids.length
      problem(kind, true, `${user.id}: ${ids.length} transaction(s) ${what}, e.g. ${ids.slice(0, 3).join(', ')}`)
    }
    report('lost row', diff.missing, 'live at Plaid but not listed')
    report('duplicate row', diff.duplicated, 'listed more than once')
    report('resurrected', diff.extra, 'listed but not live at Plaid (removed there, or of a removed Item)')
    report('stale row', diff.different, "listed with other values than Plaid's latest")
  })
  checks.push({
    name: "(c) Transactions: each user's GET /transactions (all pages) equals Plaid's live transactions of their Items",
    compared: `${compared} listed, ${expectedTotal} live at Plaid`,
    failures,
  })

  // Another user's Item, by id: 404, exactly like a missing one.
  failures = 0
  const withItems = users.filter((u) => u.items.length > 0)
  const probes = Math.min(50, users.length)
  for (let i = 0; i < probes && withItems.length > 1; i++) {
    const user = users[i] as User
    const other = withItems[(i * 7 + 1) % withItems.length] as User
    if (other.id === user.id) continue
    const itemId = other.items[0] as string
    const item = await call(user, 'GET', `/items/${itemId}`, 'GET /items/:item_id', 'verify')
    const accounts = await call(user, 'GET', `/accounts?item_id=${itemId}`, 'GET /accounts?item_id', 'verify')
    const txs = await call(user, 'GET', `/transactions?item_id=${itemId}`, 'GET /transactions?item_id', 'verify')
    const missing = JSON.stringify({ detail: 'item not found' })
    const leaked = [item, accounts, txs].some((res) => res.status !== 404 || JSON.stringify(res.body) !== missing)
    if (leaked) {
      failures++
      problem(
        'cross-user leak',
        true,
        `${user.id} asking for ${other.id}'s Item ${itemId}: GET item ${item.status}, accounts ${accounts.status}, transactions ${txs.status} ${txs.text.slice(0, 120)}`,
      )
    }
  }
  checks.push({
    name: "Another user's Item by id: GET /items/:id, /accounts?item_id= and /transactions?item_id= answer 404, exactly as for a missing Item",
    compared: `${probes} probes`,
    failures,
  })
}

/** (d) The raw database and state files, read after `wrangler dev` has stopped. */
async function verifyDatabase(truth: Truth, persistTo: string): Promise<void> {
  // Each user's rows are in that user's object; D1 holds the index of Items and the token owners.
  const objects = readUserObjects(persistTo)
  const items = objects.flatMap((o) => o.items)
  const accounts = objects.flatMap((o) => o.accounts)
  const transactions = objects.flatMap((o) => o.transactions)
  const claims = objects.flatMap((o) => o.claims)
  const [index = [], tokenOwners = []] = await d1Query(
    persistTo,
    'SELECT * FROM item_index; SELECT * FROM public_token_owners;',
  )
  const tokens = truth.items.map((i) => i.access_token).filter((t): t is string => t !== null)

  // No token in clear, in any column of any row...
  let failures = 0
  const tables = {
    items,
    accounts,
    transactions,
    public_token_exchanges: claims,
    item_index: index,
    public_token_owners: tokenOwners,
  }
  let values = 0
  for (const [name, rows] of Object.entries(tables)) {
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        values++
        const text = String(value)
        if (
          text.includes('access-sandbox-') ||
          text.includes('public-sandbox-') ||
          tokens.some((t) => text.includes(t))
        ) {
          failures++
          problem('clear-text token', true, `${name}.${column} holds a token in clear: ${text.slice(0, 40)}...`)
        }
      }
    }
  }
  // ...nor anywhere in the files of the local state (SQLite pages, WAL, Queue storage).
  let files = 0
  let bytes = 0
  const needles = ['access-sandbox-', 'public-sandbox-'].map((s) => Buffer.from(s))
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry)
      if (statSync(path).isDirectory()) walk(path)
      else {
        const content = readFileSync(path)
        files++
        bytes += content.length
        if (needles.some((n) => content.includes(n)) || tokens.some((t) => content.includes(t))) {
          failures++
          problem(
            'clear-text token',
            true,
            `state file ${relative(persistTo, path)} contains an access or public token`,
          )
        }
      }
    }
  }
  walk(persistTo)
  checks.push({
    name: "(d) No access or public token in clear: every value in the users' objects (sqlite3) and the D1 index (wrangler d1 execute), and every byte of the local state files",
    compared: `${values} values in ${items.length + accounts.length + transactions.length + claims.length + index.length + tokenOwners.length} rows of ${objects.length} objects and D1; ${files} files, ${fmt(bytes / 1024 / 1024, 1)} MiB; ${tokens.length} access tokens searched`,
    failures,
  })

  // Row counts and ownership against Plaid's truth.
  failures = 0
  const ownedLive = [...truth.live.values()].filter((i) => owners.has(i.item_id))
  const expectItems = new Map(ownedLive.map((i) => [i.item_id, owners.get(i.item_id)]))
  const expectAccounts = new Map(ownedLive.flatMap((i) => i.account_ids.map((a) => [a, i.item_id] as const)))
  const expectTransactions = new Map(
    ownedLive.flatMap((i) =>
      (truth.transactions.get(i.item_id) ?? []).map((t) => [t.transaction_id, i.item_id] as const),
    ),
  )
  const rowCheck = (
    table: string,
    rows: Record<string, unknown>[],
    idColumn: string,
    expected: Map<string, string | undefined>,
    expectedOf: (row: Record<string, unknown>) => string | undefined,
  ) => {
    const ids = rows.map((r) => String(r[idColumn]))
    const unique = new Set(ids)
    if (unique.size !== ids.length) {
      failures++
      problem('duplicate row', true, `${table}: ${ids.length - unique.size} duplicated ${idColumn}`)
    }
    const extra = rows.filter((r) => !expected.has(String(r[idColumn])))
    const missing = [...expected.keys()].filter((id) => !unique.has(id))
    const misplaced = rows.filter(
      (r) => expected.has(String(r[idColumn])) && expectedOf(r) !== expected.get(String(r[idColumn])),
    )
    if (extra.length > 0) {
      failures++
      problem(
        'stale row',
        true,
        `${table}: ${extra.length} row(s) not live at Plaid, e.g. ${extra
          .slice(0, 3)
          .map((r) => `${r[idColumn]} (item ${r.item_id}, user ${r.user_id})`)
          .join(', ')}`,
      )
    }
    if (missing.length > 0) {
      failures++
      problem('lost row', true, `${table}: ${missing.length} row(s) missing, e.g. ${missing.slice(0, 3).join(', ')}`)
    }
    if (misplaced.length > 0) {
      failures++
      problem('cross-user leak', true, `${table}: ${misplaced.length} row(s) under the wrong Item or user`)
    }
  }
  rowCheck('items', items, 'item_id', expectItems, (r) => String(r.user_id))
  rowCheck('accounts', accounts, 'account_id', expectAccounts, (r) => String(r.item_id))
  rowCheck('transactions', transactions, 'transaction_id', expectTransactions, (r) => String(r.item_id))
  // Every account and transaction row belongs to its Item's user.
  const itemUser = new Map(items.map((r) => [String(r.item_id), String(r.user_id)]))
  const wrongUser = [...accounts, ...transactions].filter((r) => itemUser.get(String(r.item_id)) !== String(r.user_id))
  if (wrongUser.length > 0) {
    failures++
    problem(
      'cross-user leak',
      true,
      `${wrongUser.length} account/transaction row(s) whose user_id is not their Item's (or whose Item is gone)`,
    )
  }
  // Every stored Item is in the D1 index under its user with its key id (webhooks and the
  // re-seal find it there); no sync left staged rows behind.
  const indexed = new Map(index.map((r) => [String(r.item_id), r]))
  const unindexed = items.filter((r) => {
    const entry = indexed.get(String(r.item_id))
    return !entry || entry.user_id !== r.user_id || entry.access_token_key_id !== r.access_token_key_id
  })
  if (unindexed.length > 0) {
    failures++
    problem('index', true, `D1 item_index: ${unindexed.length} stored Item(s) missing or with another user or key id`)
  }
  const staged = objects.reduce((n, o) => n + o.staged, 0)
  if (staged > 0) {
    failures++
    problem('staging', true, `${staged} staged sync row(s) left in the objects after every sync finished`)
  }
  const dangling = index.filter((r) => !items.some((i) => i.item_id === r.item_id)).length
  checks.push({
    name: "(d) Object rows: items, accounts, transactions in the users' objects equal the live Items, accounts and transactions at Plaid, each in its Item's user's object; every Item in the D1 index with its user and key id; no staging left",
    compared: `items ${items.length}/${expectItems.size}, accounts ${accounts.length}/${expectAccounts.size}, transactions ${transactions.length}/${expectTransactions.size} (objects/Plaid) in ${objects.length} objects; ${claims.length} public-token claims; index ${index.length} rows (${dangling} naming no stored Item)`,
    failures,
  })
}

// ---------------------------------------------------------------------------------------------
// Report

type ChaosSnapshot = {
  config: Record<string, unknown> | null
  totals: ChaosCounts
  endpoints: Record<string, ChaosCounts>
}

/** What an answer was, for the status table: injected faults surfacing, or the API's own. */
function classify(sample: Sample, chaos: ChaosSnapshot): { label: string; unexplained5xx: boolean } {
  const { status, detail } = sample
  const paths = PLAID_PATHS[sample.route] ?? []
  const injectedAt = (kind: keyof ChaosCounts) => paths.some((p) => (chaos.endpoints[p]?.[kind] ?? 0) > 0)
  if (status >= 200 && status < 300) return { label: 'ok', unexplained5xx: false }
  if (status === 0) return { label: `no answer: ${detail}`, unexplained5xx: false }
  if (status >= 500) {
    // wrangler's dev proxy answers this for any network failure between it and the Worker on a
    // non-GET request (its "did the Worker restart" check compares URLs with and without the
    // path, so it always says yes); the Worker never saw or never finished the request.
    if (!sample.fromWorker && detail.startsWith(WRANGLER_PROXY_503)) {
      return { label: `wrangler dev proxy, not the Worker: "${WRANGLER_PROXY_503}..."`, unexplained5xx: false }
    }
    if (/unexpected answer from Plaid \(HTTP 503\)/.test(detail) && injectedAt('status_503')) {
      return {
        label: 'injected Plaid 503 page: "unexpected answer from Plaid (HTTP 503): not JSON"',
        unexplained5xx: false,
      }
    }
    if (detail.includes(CHAOS_MARKER) && (injectedAt('status_500') || injectedAt('rate_429'))) {
      return { label: `injected Plaid ${sample.errorCode ?? 'error'} answered as ${status}`, unexplained5xx: false }
    }
    return { label: `UNEXPLAINED: ${detail}`, unexplained5xx: true }
  }
  if (status === 400 && detail.includes(CHAOS_MARKER)) {
    const kind = sample.errorType === 'RATE_LIMIT_EXCEEDED' ? 'rate_429' : 'status_500'
    const plaidStatus = kind === 'rate_429' ? '429' : '500'
    const seen = injectedAt(kind) ? '' : ' (but no such fault counted for this route!)'
    return {
      label: `injected Plaid ${plaidStatus} ${sample.errorType}/${sample.errorCode} passed through as 400${seen}`,
      unexplained5xx: false,
    }
  }
  if (status === 429) return { label: `API rate limit: ${detail}`, unexplained5xx: false }
  return { label: detail.replace(/[A-Za-z0-9]{37}/g, '<id>').slice(0, 160), unexplained5xx: false }
}

function latencyRows(list: Sample[]): string[][] {
  const byRoute = new Map<string, Sample[]>()
  for (const s of list) byRoute.set(s.route, [...(byRoute.get(s.route) ?? []), s])
  const rows = [...byRoute].sort(([a], [b]) => a.localeCompare(b))
  const row = (name: string, ss: Sample[]) => {
    const ms = ss.map((s) => s.ms).sort((a, b) => a - b)
    const count = (lo: number, hi: number) => String(ss.filter((s) => s.status >= lo && s.status < hi).length)
    return [
      name,
      String(ss.length),
      count(200, 300),
      count(400, 500),
      count(500, 600),
      String(ss.filter((s) => s.status === 0).length),
      fmt(percentile(ms, 50)),
      fmt(percentile(ms, 99)),
      fmt(ms.at(-1) ?? Number.NaN),
    ]
  }
  return [...rows.map(([name, ss]) => row(`\`${name}\``, ss)), row('**all**', list)]
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const startedAt = performance.now()
  const workdir = tempDir('loadtest-', { keep: KEEP_STATE })
  stack = await startStack({
    workdir,
    clientId: CLIENT_ID,
    emulator: { deliverWebhook, onExchange: onPlaidExchange },
    // Abandoned exchanges' pending links are settled this long after them, not 5 minutes.
    vars: () => ({ PENDING_LINK_GRACE_SECONDS: String(GRACE_SECONDS) }),
    onOutput: onWranglerLine,
    progress,
  })
  webhookUrl = `${stack.apiUrl}/api/v1/banking/webhooks`
  const ready = performance.now()

  const chaosSet = await control('POST', '/chaos', CHAOS)
  if (chaosSet.status !== 200)
    throw new Error(`the emulator refused the chaos settings: ${JSON.stringify(chaosSet.body)}`)
  progress(`chaos on: ${JSON.stringify(CHAOS)}`)

  const now = Math.floor(Date.now() / 1000)
  const runId = SEED.toString(36)
  const users: User[] = await Promise.all(
    Array.from({ length: USERS }, async (_, index) => {
      const id = `loadtest-${runId}-user-${String(index).padStart(4, '0')}`
      const token = await devToken(id, 2 * 3600, now)
      return { index, id, token, plan: makePlan(seeded(SEED + index * 7919)), items: [], removed: [] }
    }),
  )

  progress(`${USERS} users start within ${RAMP_MS} ms (seed ${SEED})`)
  const flowsStarted = performance.now()
  let finished = 0
  const ticker = setInterval(() => {
    progress(
      `flows: ${finished}/${USERS} users done, ${samples.length} API answers, ${samples.filter((s) => s.phase === 'webhook').length} webhooks delivered`,
    )
  }, 10_000)
  await Promise.all(
    users.map((user) =>
      runUser(user)
        .catch((error: unknown) => {
          problem(
            'load generator',
            false,
            `${user.id}: the flow threw: ${error instanceof Error ? error.stack : String(error)}`,
          )
        })
        .finally(() => {
          finished++
        }),
    ),
  )
  clearInterval(ticker)
  const flowsMs = performance.now() - flowsStarted
  progress(`flows done in ${fmt(flowsMs / 1000, 1)} s; waiting for the webhook-driven syncs to settle`)

  // Before Plaid's truth is read: a pending link settled later could still remove its Item there.
  const disconnectWaitMs = await waitForDisconnects(
    stack,
    async () => (await controlOk<{ items: EmulatorItem[] }>('GET', '/items')).items,
    progress,
  )
  let truth = await readTruth()
  const settled = await settle(users, truth)
  if (!settled.settled) {
    problem(
      'settle timeout',
      true,
      `transactions did not settle within ${SETTLE_TIMEOUT_MS / 1000} s (${settled.rounds} rounds); still different: ${settled.pending.map((u) => u.id).join(', ') || 'none (the queue was still busy)'}`,
    )
  }

  progress(`cold-isolate burst: ${BURST_WEBHOOKS} webhooks signed with a new key, all at once`)
  const burstStarted = performance.now()
  const burst = await runColdBurst(truth)
  const burstSettled = await settle(users, truth)
  if (!burstSettled.settled) {
    problem(
      'settle timeout',
      true,
      `transactions did not settle again within ${SETTLE_TIMEOUT_MS / 1000} s after the burst`,
    )
  }
  const burstMs = performance.now() - burstStarted

  // Freeze the faults: what was injected, then chaos off so verification reads Plaid plainly.
  const chaos = await controlOk<ChaosSnapshot>('GET', '/chaos')
  await controlOk('DELETE', '/chaos')
  truth = await readTruth()
  progress('verifying through the API')
  const verifyStarted = performance.now()
  await verifyThroughApi(users, truth)
  const { problems: disconnectProblems, ...disconnectCheck } = await checkDisconnects(
    stack,
    truth.items,
    disconnectWaitMs,
  )
  for (const message of disconnectProblems) problem('disconnect', true, message)
  progress('stopping wrangler dev; reading the raw D1 database')
  await stopGroup(stack.wrangler)
  await verifyDatabase(truth, stack.persistTo)
  checks.push(disconnectCheck)
  const verifyMs = performance.now() - verifyStarted
  const badLimits = rateLimitChecks.filter(
    (r) =>
      !r.limited || r.allowed > API_RATE_LIMIT || r.allowed < API_RATE_LIMIT - 2 || !/^\d+$/.test(r.retryAfter ?? ''),
  )
  for (const r of badLimits.filter((b) => b.limited)) {
    problem(
      'rate limit',
      true,
      `${r.user}: 429 after ${r.allowed} Plaid-backed requests in the current ${RATE_LIMIT_PERIOD_S} s window (limit ${API_RATE_LIMIT}), Retry-After ${r.retryAfter}`,
    )
  }
  const othersLimited = samples.filter((x) => x.status === 429 && !x.route.includes('(hammering)'))
  for (const x of othersLimited.slice(0, 5)) {
    problem('rate limit', true, `${x.user}: ${x.route} answered 429 without hammering: ${x.detail}`)
  }
  checks.push({
    name: `Per-user rate limit: a user hammering "refresh" gets 429 with Retry-After once ${API_RATE_LIMIT} Plaid-backed requests are spent in the current ${RATE_LIMIT_PERIOD_S} s window; no one else gets 429`,
    compared: `${rateLimitChecks.length} hammering users: 429 after ${rateLimitChecks.map((r) => r.allowed).join(', ') || '-'} requests in the window, Retry-After ${[...new Set(rateLimitChecks.map((r) => r.retryAfter))].join(', ') || '-'}; ${othersLimited.length} 429s for the ${USERS - rateLimitChecks.length} others`,
    failures: badLimits.length + othersLimited.length,
  })

  // ---- Report ----
  const flow = samples.filter((s) => s.phase === 'flow')
  const webhooks = samples.filter((s) => s.phase === 'webhook')
  const all = samples
  const classified = all.map((s) => ({ s, ...classify(s, chaos) }))
  for (const { s, label, unexplained5xx } of classified) {
    const what = `${s.phase} ${s.route} (${s.user}) answered ${s.status} at ${fmt(s.at, 1)} s: ${label}`
    if (unexplained5xx) problem('unexplained 5xx', true, what)
    // Not injected. wrangler's dev proxy also answers this 503 when its own connection to workerd
    // fails under load, with the Worker up throughout; it fails the run when wrangler reported a
    // restart or crash of the Worker, which it could hide. Either way the data checks below prove
    // that nothing was lost, and the users' retries must have got through.
    else if (label.startsWith('wrangler dev proxy'))
      problem("5xx from wrangler dev's proxy (local dev server)", restarts.length > 0, what)
    else if (s.status === 0) problem('no answer (connection failed)', true, what)
  }
  const statusRows = new Map<string, { status: number; label: string; count: number; routes: Set<string> }>()
  for (const { s, label } of classified) {
    if (s.status >= 200 && s.status < 300) continue
    const key = `${s.status}|${label}`
    const row = statusRows.get(key) ?? { status: s.status, label, count: 0, routes: new Set<string>() }
    row.count++
    row.routes.add(`\`${s.route}\``)
    statusRows.set(key, row)
  }
  const byStatus = new Map<number, number>()
  for (const s of all) byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1)

  const cpu = cpus()
  const totalMs = performance.now() - startedAt
  const fatal = problems.filter((p) => p.fatal)
  const kinds = new Map<string, Problem[]>()
  for (const p of problems) kinds.set(p.kind, [...(kinds.get(p.kind) ?? []), p])
  const liveItems = truth.live.size
  const chaosRows = Object.entries(chaos.endpoints).map(([path, c]) => [
    `\`${path}\``,
    String(c.calls),
    String(c.latency),
    fmt(c.latency ? c.latency_ms_total / c.latency : Number.NaN),
    String(c.rate_429),
    String(c.status_500),
    String(c.status_503),
  ])
  const t = chaos.totals
  chaosRows.push([
    '**all**',
    String(t.calls),
    String(t.latency),
    fmt(t.latency ? t.latency_ms_total / t.latency : Number.NaN),
    String(t.rate_429),
    String(t.status_500),
    String(t.status_503),
  ])

  const lines = [
    '## Load test: Linked Accounts flow under Plaid chaos',
    '',
    `Node ${process.version} · ${cpu[0]?.model.trim() ?? 'unknown CPU'} · ${cpu.length} cores · ${new Date().toISOString()} · seed ${SEED}`,
    '',
    `**${fatal.length === 0 ? 'PASS' : 'FAIL'}** · ${USERS} users, at most ${concurrency.peak} requests in flight at once · ${flow.length} API requests in the flows (${all.length} with settling, verification and webhooks) · run time ${fmt(totalMs / 1000, 1)} s (start-up ${fmt((ready - startedAt) / 1000, 1)} s, flows ${fmt(flowsMs / 1000, 1)} s, settling ${fmt(settled.ms / 1000, 1)} s, cold burst and settling again ${fmt(burstMs / 1000, 1)} s, verification ${fmt(verifyMs / 1000, 1)} s)`,
    '',
    `Chaos: \`${JSON.stringify(chaos.config)}\`${chaos.config?.endpoints ? '' : " on every Plaid path but /sandbox/*, /webhook_verification_key/get (and the emulator's control API)"}.`,
    '',
    '### What the users did',
    '',
    table(
      ['Step', 'Count'],
      [
        ['users (each its own JWT)', String(USERS)],
        ['second institution linked', String(counters.secondInstitutions)],
        ['Sandbox public tokens (Link sessions)', String(counters.publicTokens)],
        ['same public token sent again (expect 200, same Item)', String(counters.replays)],
        ['double-clicked exchanges (two at once)', String(counters.doubleClicks)],
        ['Link again after a spent public token', String(counters.relinks)],
        ['live balance refreshes', String(counters.refreshes)],
        [
          'transaction changes at Plaid with SYNC_UPDATES_AVAILABLE',
          `${counters.transactionChanges} (+${counters.added} added, ${counters.modified} modified, ${counters.removed} removed)`,
        ],
        ['users with a second round of changes', String(counters.secondRounds)],
        ['manual syncs racing the webhook syncs', String(counters.manualSyncs)],
        ['Items removed by their user', String(counters.removals)],
        ['users hammering "refresh" into the rate limit', String(rateLimitChecks.length)],
        [
          'steps retried / retries / steps that gave up',
          `${counters.stepsRetried} / ${counters.retries} / ${counters.gaveUp}`,
        ],
      ],
    ),
    '',
    '### Latency by route (user flows, every attempt; ms)',
    '',
    table(['Route', 'Requests', '2xx', '4xx', '5xx', 'No answer', 'p50', 'p99', 'max'], latencyRows(flow)),
    '',
    '### Settling and verification requests (ms)',
    '',
    table(
      ['Route', 'Requests', '2xx', '4xx', '5xx', 'No answer', 'p50', 'p99', 'max'],
      latencyRows(all.filter((s) => s.phase === 'settle' || s.phase === 'verify')),
    ),
    '',
    '### Webhooks the emulator POSTed to the API',
    '',
    table(['Route', 'Requests', '2xx', '4xx', '5xx', 'No answer', 'p50', 'p99', 'max'], latencyRows(webhooks)),
    '',
    `Deliveries: ${webhookDeliveries.total} (the cold-isolate burst's included), of which ${webhookDeliveries.retried} needed more than one attempt and ${webhookDeliveries.lost} never got a 200 (the table counts attempts).`,
    '',
    `Queue (from the Worker's log): ${['webhook sync done', 'webhook job failed', 'sync lost the cursor race; starting again from the new cursor', 'webhook for an unknown item ignored'].map((m) => `${m}: ${workerLog.messages.get(m) ?? 0}`).join(' · ')}`,
    '',
    '### Cold-isolate burst',
    '',
    `After the flows settled, the emulator's signing key was rotated (the previous one left valid) and ${burst.fired} SYNC_UPDATES_AVAILABLE webhooks for ${burst.items} live Items, signed with the new key, were released at once.`,
    '',
    table(
      [
        'Webhooks',
        'First attempts 2xx',
        '401',
        'Other',
        'p50 ms',
        'p99 ms',
        'All answered after',
        'New key fetched',
        'Previous key re-read',
      ],
      [
        [
          String(burst.fired),
          String(burst.ok),
          String(burst.refused),
          String(burst.other),
          fmt(burst.p50Ms),
          fmt(burst.p99Ms),
          `${fmt(burst.wallMs)} ms`,
          `${burst.keyFetches}×`,
          `${burst.previousKeyReads}×`,
        ],
      ],
    ),
    '',
    '### Answers by status (all phases)',
    '',
    table(
      ['Status', 'Count'],
      [...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => [String(s), String(n)]),
    ),
    '',
    table(
      ['Status', 'Count', 'What', 'Routes'],
      [...statusRows.values()]
        .sort((a, b) => a.status - b.status || b.count - a.count)
        .map((r) => [String(r.status), String(r.count), cell(r.label), [...r.routes].join(', ')]),
    ),
    '',
    '### Faults injected by the emulator (GET /emulator/chaos)',
    '',
    table(
      ['Plaid path', 'Calls', 'Delayed', 'Mean delay ms', '429 RATE_LIMIT_EXCEEDED', '500 API_ERROR', '503 HTML page'],
      chaosRows,
    ),
    '',
    '### Verified',
    '',
    table(
      ['Check', 'Compared', 'Result'],
      checks.map((c) => [cell(c.name), cell(c.compared), c.failures === 0 ? 'PASS' : `FAIL (${c.failures})`]),
    ),
    '',
    `Transactions settled (every user's list equal to Plaid's, queue quiet 5 s): ${settled.settled ? 'yes' : 'NO'}, after ${fmt(settled.ms / 1000, 1)} s and ${settled.rounds} polling rounds. Live Items at Plaid: ${liveItems}.`,
    '',
    '### Problems',
    '',
    problems.length === 0
      ? 'None.'
      : [...kinds]
          .map(
            ([kind, list]) =>
              `- **${kind}** (${list.length}${list[0]?.fatal ? ', fails the run' : ''}):\n${list
                .slice(0, 8)
                .map((p) => `  - ${p.message.replaceAll('\n', ' ')}`)
                .join('\n')}${list.length > 8 ? `\n  - ... and ${list.length - 8} more` : ''}`,
          )
          .join('\n'),
  ]
  const evidence = classified
    .filter((c) => c.unexplained5xx && c.s.requestId !== undefined)
    .map((c) => workerLog.serverErrors.get(c.s.requestId as string))
    .filter((line): line is string => line !== undefined)
  if (evidence.length > 0) {
    lines.push('', "<details><summary>The Worker's log lines for the unexplained 5xx (first 20)</summary>", '', '```')
    lines.push(...evidence.slice(0, 20), '```', '</details>')
  }
  if (restarts.length > 0) {
    lines.push('', `wrangler restarted the Worker ${restarts.length} time(s) during the run:`, '')
    lines.push(...restarts.slice(0, 10).map((r) => `- at ${fmt(r.at, 1)} s: \`${r.line.slice(0, 160)}\``))
  }
  if (process.env.LOADTEST_WRANGLER_LOG) writeFileSync(process.env.LOADTEST_WRANGLER_LOG, wranglerLog.join('\n'))
  if (KEEP_STATE) lines.push('', `State kept in ${workdir}`)
  console.log(lines.join('\n'))
  return fatal.length === 0 ? 0 : 1
}

main().then(
  async (code) => {
    await cleanup()
    process.exit(code)
  },
  async (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    if (stack) console.error(`wrangler's last output:\n${stack.tail()}`)
    await cleanup()
    process.exit(1)
  },
)
