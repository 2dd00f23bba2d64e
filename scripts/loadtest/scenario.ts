/** What each load-test user does (docs/loadtest.md): a plan drawn from the seed, then the flow against the API. */
import { fmt } from '../lib/markdown'
import { emulatorControl, sandboxPublicToken } from '../lib/plaid'
import { between } from '../lib/prng'
import { sleep } from '../lib/process'
import { abandonedExchange, disconnectKind, disconnects } from './disconnects'
import { API_RATE_LIMIT, HAMMER_ROUTE, INSTITUTIONS, RAMP_MS, RATE_LIMIT_PERIOD_S, SHARE, spentBudget } from './options'
import {
  type Answer,
  call,
  problem,
  type Run,
  type RunState,
  type StepResult,
  step,
  type User,
  unexpected,
} from './run'

export type Change = { add: number; modify: number; remove: number }
export type Plan = {
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
export function makePlan(rng: () => number): Plan {
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

function adopt(run: RunState, user: User, itemId: string): void {
  const owner = run.owners.get(itemId)
  if (owner !== undefined && owner !== user.id) {
    problem(run, 'cross-user leak', true, `exchange for ${user.id} answered ${itemId}, which ${owner} linked`)
    return
  }
  run.owners.set(itemId, user.id)
  if (!user.items.includes(itemId)) user.items.push(itemId)
}

export const itemIdOf = (a: Answer) => (a.body.item as { item_id?: unknown } | undefined)?.item_id

function publicToken(run: Run, institution: string): Promise<string> {
  run.counters.publicTokens++
  return sandboxPublicToken(run.stack, institution, run.webhookUrl)
}

/** Link (the frontend's link token, then Link's public token) and the exchange. */
async function link(run: Run, user: User, n: number): Promise<void> {
  const institution = user.plan.institutions[n] as string
  const linkToken = await step(run, user, 'POST', '/link-token', 'POST /link-token', [200], {})
  if (!linkToken.ok) unexpected(run, user, 'link token', linkToken) // the frontend could not open Link; carry on as if it had
  for (let relink = 0; relink < 3; relink++) {
    const token = await publicToken(run, institution)
    const exchange = () =>
      step(run, user, 'POST', '/exchange-token', 'POST /exchange-token', [201, 200], { public_token: token })
    let result: StepResult
    // A failed attempt can spend the public token at Plaid (the exchange went through, a later
    // call failed and the API removed the Item again): then the user has to go through Link again.
    let spentByFailure: boolean
    if (user.plan.doubleClick[n]) {
      run.counters.doubleClicks++
      const pair = await Promise.all([exchange(), exchange()])
      checkDoubleClick(run, user, pair)
      result = pair.find((r) => r.ok) ?? pair.find(spent) ?? (pair[0] as StepResult)
      spentByFailure = !pair.some((r) => r.ok) && pair.some(spent)
    } else {
      result = await exchange()
      spentByFailure = spent(result) && result.attempts > 1
    }
    if (result.ok) {
      const itemId = itemIdOf(result)
      if (typeof itemId !== 'string') {
        problem(run, 'wrong answer', true, `${user.id}: exchange answered ${result.status} without item.item_id`)
        return
      }
      adopt(run, user, itemId)
      if (user.plan.replay[n]) {
        run.counters.replays++
        const again = await exchange()
        if (again.status !== 200 || itemIdOf(again) !== itemId) {
          problem(
            run,
            'idempotency',
            true,
            `${user.id}: the same public token again answered ${again.status} ${again.text.slice(0, 200)} (expected 200 with ${itemId})`,
          )
        }
      }
      return
    }
    if (spentByFailure) {
      run.counters.relinks++
      continue
    }
    if (result.status === 409 && typeof result.body.item_id === 'string') adopt(run, user, result.body.item_id)
    unexpected(run, user, `exchange (${institution})`, result)
    return
  }
  problem(
    run,
    'step gave up after retries',
    false,
    `${user.id}: exchange (${institution}) failed through 3 public tokens`,
  )
}

/** A bank the user links and whose exchange the browser abandons (scripts/loadtest-disconnects.ts). */
async function abandonLink(run: Run, user: User): Promise<void> {
  // One the user does not link otherwise: the same login twice would be a duplicate (409).
  const institution = INSTITUTIONS.find((i) => !user.plan.institutions.includes(i)) as string
  const token = await publicToken(run, institution)
  const { itemId, answered } = await abandonedExchange(run.stack, user, disconnectKind(user.index), token)
  if (itemId === undefined) return
  // The user never saw it (or saw an error), but it is theirs: verification expects it listed for
  // them if it is live at Plaid. Only an Item the API answered is one the user's flow goes on with.
  run.owners.set(itemId, user.id)
  if (answered?.status === 201) adopt(run, user, itemId)
}

const spent = (r: Answer) => r.status === 400 && r.body.error_code === 'INVALID_PUBLIC_TOKEN'

/** Two exchanges of one public token at once: one Item at most, and both answers must agree. */
function checkDoubleClick(run: RunState, user: User, pair: StepResult[]): void {
  const created = pair.filter((r) => r.status === 201)
  const items = new Set(pair.filter((r) => r.ok).map(itemIdOf))
  if (created.length > 1 || items.size > 1) {
    problem(
      run,
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
    if (!acceptable) unexpected(run, user, 'double-clicked exchange', r)
  }
}

async function changeTransactions(run: Run, user: User, itemId: string, change: Change): Promise<void> {
  const res = await emulatorControl(run.stack, 'POST', `/items/${itemId}/transactions`, {
    ...change,
    fire_webhook: true,
  })
  if (res.status !== 200) {
    problem(
      run,
      'load generator',
      false,
      `${user.id}: emulator refused a transaction change for ${itemId}: ${res.status}`,
    )
    return
  }
  run.counters.transactionChanges++
  run.counters.added += change.add
  run.counters.modified += change.modify
  run.counters.removed += change.remove
}

async function sync(run: Run, user: User, itemId: string): Promise<void> {
  run.counters.manualSyncs++
  const result = await step(run, user, 'POST', `/items/${itemId}/sync`, 'POST /items/:item_id/sync', [200], {})
  if (!result.ok) unexpected(run, user, `manual sync of ${itemId}`, result)
}

/** What the users who hammered "refresh" saw of the API's rate limit. */

/**
 * Manual syncs one after another (not retried) until the first 429: it must come, with
 * Retry-After, once the user has spent the minute's budget of Plaid-backed requests.
 */
async function hammer(run: Run, user: User, itemId: string): Promise<void> {
  const started = run.since()
  // Twice the budget and a margin: a window that rolls over mid-burst starts the count again.
  const attempts = 2 * API_RATE_LIMIT + 5
  for (let i = 0; i < attempts; i++) {
    const res = await call(run, user, 'POST', `/items/${itemId}/sync`, HAMMER_ROUTE, 'flow', {})
    if (res.status !== 429) continue
    // The limiter counts in fixed windows aligned to the clock (miniflare's, like Cloudflare's
    // own): count the requests this user sent since the current window began, on the routes that
    // spend the budget, that the Worker answered with anything but 429 (a request sent just
    // before the boundary may have been counted after it: that only lowers the count).
    const windowStart = Math.floor(Date.now() / (RATE_LIMIT_PERIOD_S * 1000)) * RATE_LIMIT_PERIOD_S * 1000
    const allowed = run.samples.filter(
      (x) => x.user === user.id && x.fromWorker && x.sentAt >= windowStart && spentBudget(x),
    ).length
    run.rateLimitChecks.push({
      user: user.id,
      allowed,
      retryAfter: res.headers?.get('Retry-After') ?? null,
      limited: true,
    })
    return
  }
  run.rateLimitChecks.push({ user: user.id, allowed: -1, retryAfter: null, limited: false })
  problem(run, 'rate limit', true, `${user.id}: ${attempts} manual syncs from ${fmt(started, 1)} s on, and no 429`)
}

export async function runUser(run: Run, user: User): Promise<void> {
  const { plan } = user
  await sleep(plan.startDelayMs)
  if (disconnects(user.index)) await abandonLink(run, user)
  await link(run, user, 0)
  if (plan.institutions.length > 1) {
    run.counters.secondInstitutions++
    await link(run, user, 1)
  }
  const accounts = await step(run, user, 'GET', '/accounts', 'GET /accounts', [200])
  if (!accounts.ok) unexpected(run, user, 'accounts', accounts)
  if (plan.refresh) {
    run.counters.refreshes++
    const refreshed = await step(run, user, 'GET', '/accounts?refresh=true', 'GET /accounts?refresh=true', [200])
    if (!refreshed.ok) unexpected(run, user, 'accounts with live balances', refreshed)
  }
  // New activity at the bank, announced by webhook; some users press "refresh" at the same moment.
  const items = [...user.items]
  const rounds = Math.max(0, ...plan.changes.map((c) => c.length))
  if (rounds > 1) run.counters.secondRounds++
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await sleep(500 + Math.random() * 1500)
    await Promise.all(
      items.map(async (itemId, i) => {
        const change = plan.changes[i]?.[round] ?? plan.changes[0]?.[round]
        if (!change) return
        await changeTransactions(run, user, itemId, change)
        if (plan.manualSync) await sync(run, user, itemId)
      }),
    )
  }
  if (plan.hammer && items.length > 0) await hammer(run, user, items[0] as string)
  if (plan.removeIndex !== null && items.length > 0) {
    const itemId = items[plan.removeIndex % items.length] as string
    run.counters.removals++
    const result = await step(run, user, 'DELETE', `/items/${itemId}`, 'DELETE /items/:item_id', [204])
    // 404 after a failed attempt: that attempt removed it before its answer was lost.
    if (result.ok || (result.status === 404 && result.attempts > 1)) {
      user.items = user.items.filter((id) => id !== itemId)
      user.removed.push(itemId)
    } else unexpected(run, user, `remove ${itemId}`, result)
  }
}
