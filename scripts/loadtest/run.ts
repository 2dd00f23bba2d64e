/** One load-test run's state (every answer, the problems, the counters) and the calls that record into it. */
import { API_PREFIX, bearer, callApi } from '../lib/api'
import { sleep } from '../lib/process'
import type { Stack } from '../lib/stack'
import { onWorkerLog } from './disconnects'
import { MAX_ATTEMPTS, MAX_RETRY_AFTER_MS, REQUEST_TIMEOUT_MS, TRANSIENT_PLAID_TYPES } from './options'
import type { Plan } from './scenario'

export type Phase = 'flow' | 'settle' | 'verify' | 'webhook'
export type Sample = {
  route: string
  phase: Phase
  status: number
  ms: number
  user: string
  detail: string
  errorType?: string
  errorCode?: string
  /** When the answer came, in seconds since the run started. */
  at: number
  /** When the request was sent, epoch ms. */
  sentAt: number
  /** The answer came from the Worker (it sets X-Request-Id), not from wrangler's dev proxy in front. */
  fromWorker: boolean
  requestId?: string
}
export type Problem = { kind: string; fatal: boolean; message: string }
export type Check = { name: string; compared: string; failures: number }
export type BurstAnswer = { status: number; ms: number; detail: string; at: number }

export type User = {
  index: number
  id: string
  token: string
  plan: Plan
  /** Items this user linked and has not removed, as the API answered. */
  items: string[]
  /** Items this user removed (204). */
  removed: string[]
}

export type Answer = {
  status: number
  body: Record<string, unknown>
  text: string
  headers: Headers | null
  ms: number
}
export type StepResult = Answer & { ok: boolean; attempts: number }

/** What a run gathers before the stack is up (its callbacks write here too). */
export function newRun() {
  const t0 = performance.now()
  return {
    since: () => (performance.now() - t0) / 1000,
    samples: [] as Sample[],
    problems: [] as Problem[],
    checks: [] as Check[],
    counters: {
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
    },
    /** What the Worker logged (JSON lines through wrangler's output). */
    workerLog: {
      messages: new Map<string, number>(),
      orphaned: new Set<string>(),
      /** The Worker's log line of each 5xx it answered, by request id (evidence for unexplained ones). */
      serverErrors: new Map<string, string>(),
      lastQueueActivity: 0,
    },
    /** wrangler's own lines about restarting the Worker (a source file changed, or workerd died). */
    restarts: [] as { at: number; line: string }[],
    wranglerLog: [] as string[],
    /** item_id -> the user whose exchange returned it. */
    owners: new Map<string, string>(),
    /** What the users who hammered "refresh" saw of the API's rate limit. */
    rateLimitChecks: [] as { user: string; allowed: number; retryAfter: string | null; limited: boolean }[],
    /** Webhook deliveries (not attempts), and those never answered 200. */
    webhookDeliveries: { total: 0, retried: 0, lost: 0 },
    /** Requests to the API open at once, and the most seen: how concurrent the run really was. */
    concurrency: { now: 0, peak: 0 },
    /**
     * Webhooks signed with a key just rotated in. None is POSTed until all are signed, so they
     * reach the Worker together, as Plaid's bursts do, while no isolate holds the new kid.
     */
    coldBurst: {
      kid: null as string | null,
      released: Promise.resolve(),
      /** The first attempt of each delivery. */
      first: [] as BurstAnswer[],
      /** Deliveries done (a 200, or given up after 5 attempts). */
      finished: 0,
    },
  }
}
export type RunState = ReturnType<typeof newRun>
/** The run once the stack is up: the emulator (the truth) and the API, and where webhooks go. */
export type Run = RunState & { stack: Stack; webhookUrl: string }

export const problem = (run: RunState, kind: string, fatal: boolean, message: string) => {
  run.problems.push({ kind, fatal, message })
}

/** Counts a request to the API as open until the returned function is called. */
export function inFlight(run: RunState): () => void {
  run.concurrency.peak = Math.max(run.concurrency.peak, ++run.concurrency.now)
  return () => {
    run.concurrency.now--
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape codes is the point
const ANSI = /\x1b\[[0-9;]*m/g

/** One line of wrangler's output: its restarts, and the Worker's JSON log lines. */
export function onWranglerLine(run: RunState, line: string): void {
  run.wranglerLog.push(`${new Date().toISOString()} ${line}`)
  // wrangler colours warn and error lines: drop the escape codes before reading the JSON.
  line = line.replace(ANSI, '')
  if (
    /reload|restart|updated and ready|segmentation|out of memory|crash|uncaught/i.test(line) &&
    !line.includes('{"level"')
  ) {
    run.restarts.push({ at: run.since(), line: line.trim() })
  }
  const start = line.indexOf('{"level"')
  if (start === -1) return
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line.slice(start))
  } catch {
    return
  }
  const { workerLog } = run
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

/** One HTTP request to the API, recorded. `path` is under /api/v1/banking. */
export async function call(
  run: Run,
  user: User,
  method: string,
  path: string,
  route: string,
  phase: Phase,
  body?: unknown,
): Promise<Answer> {
  const done = inFlight(run)
  const request = { method, path: `${API_PREFIX}${path}`, headers: bearer(user.token), body }
  const { json, ...rest } = await callApi(run.stack.apiUrl, request, { timeoutMs: REQUEST_TIMEOUT_MS }).finally(done)
  const answer: Answer = { ...rest, body: json }
  run.samples.push({
    route,
    phase,
    status: answer.status,
    ms: answer.ms,
    user: user.id,
    detail: typeof answer.body.detail === 'string' ? answer.body.detail : answer.text.slice(0, 200),
    errorType: typeof answer.body.error_type === 'string' ? answer.body.error_type : undefined,
    errorCode: typeof answer.body.error_code === 'string' ? answer.body.error_code : undefined,
    at: run.since(),
    sentAt: Date.now() - answer.ms,
    fromWorker: answer.headers?.has('X-Request-Id') ?? false,
    requestId: answer.headers?.get('X-Request-Id') ?? undefined,
  })
  return answer
}

/** Worth trying again, as a frontend would: rate limited, a server error, a transient Plaid error. */
export function transient(a: Answer): boolean {
  if (a.status === 0 || a.status === 429 || a.status >= 500) return true
  if (a.status === 400) return TRANSIENT_PLAID_TYPES.has(String(a.body.error_type))
  // A manual sync that lost the cursor race to webhook syncs too often: "try again".
  if (a.status === 409) return String(a.body.detail).includes('kept moving its cursor')
  return false
}

/** A user step: the request, retried with backoff while it fails transiently. */
export async function step(
  run: Run,
  user: User,
  method: string,
  path: string,
  route: string,
  expect: number[],
  body?: unknown,
): Promise<StepResult> {
  for (let attempt = 1; ; attempt++) {
    const answer = await call(run, user, method, path, route, 'flow', body)
    if (expect.includes(answer.status)) return { ...answer, ok: true, attempts: attempt }
    if (!transient(answer) || attempt >= MAX_ATTEMPTS) {
      if (transient(answer)) run.counters.gaveUp++
      return { ...answer, ok: false, attempts: attempt }
    }
    if (attempt === 1) run.counters.stepsRetried++
    run.counters.retries++
    const retryAfter = Number(answer.headers?.get('Retry-After'))
    const delay =
      answer.status === 429 && retryAfter > 0
        ? Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS)
        : Math.min(4000, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random())
    await sleep(delay)
  }
}

export function unexpected(run: RunState, user: User, what: string, result: StepResult): void {
  const gaveUp = transient(result)
  problem(
    run,
    gaveUp ? 'step gave up after retries' : 'unexpected status',
    false,
    `${user.id}: ${what}: ${result.status} after ${result.attempts} attempt(s): ${result.text.slice(0, 300)}`,
  )
}
