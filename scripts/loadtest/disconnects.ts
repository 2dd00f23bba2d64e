/**
 * Disconnects for `npm run loadtest`: a share of users abandon one exchange right after Plaid's
 * exchange answered; each such Item must end up listed for its user or removed at Plaid
 * (docs/loadtest.md, "Disconnects").
 */
import type { Exchange } from '../../emulator/emulator'
import type { Fault } from '../../emulator/faults'
import { API_PREFIX, bearer, callApi } from '../lib/api'
import { positiveInt } from '../lib/options'
import { sleep } from '../lib/process'
import type { Stack } from '../lib/stack'

/** Share of users who abandon one exchange. */
export const DISCONNECT_SHARE = Number(process.env.LOADTEST_DISCONNECT_SHARE || 0.1)
if (!(DISCONNECT_SHARE >= 0 && DISCONNECT_SHARE <= 1)) throw new Error('LOADTEST_DISCONNECT_SHARE must be from 0 to 1')
/** The pending links' grace period for the run (the Worker's PENDING_LINK_GRACE_SECONDS). */
export const GRACE_SECONDS = positiveInt('LOADTEST_PENDING_GRACE_S', 15)
if (GRACE_SECONDS < 10) throw new Error('LOADTEST_PENDING_GRACE_S must be at least 10 (PENDING_LINK_GRACE_SECONDS)')
/** How long the emulator holds the API's `/accounts/get` after the exchange: the window the abort lands in. */
const HOLD_MS = 1500
/** How long after the held call arrives the client gives up: well inside the hold. */
const ABORT_AFTER_MS = 200
/** How long a pending link may take beyond its grace period: the alarm, the queue, the job's Plaid calls. */
const SETTLE_SLACK_MS = 90_000

type DisconnectUser = { id: string; token: string }

/**
 * `held`: the API's /accounts/get after the exchange is held HOLD_MS, and the client goes away
 * meanwhile. `stranded`: as Cloudflare would stop the request, which local workerd does not,
 * Plaid fails that Item's /accounts/get and /item/remove (502, as often as the API tries), so the
 * request can neither store the Item nor remove it, and leaves its pending link to the alarm.
 */
export type DisconnectKind = 'held' | 'stranded'

/** Which users disconnect: evenly spread, exactly the share of them (rounded down), whatever the seed. */
export const disconnects = (index: number): boolean =>
  Math.floor((index + 1) * DISCONNECT_SHARE) > Math.floor(index * DISCONNECT_SHARE)

/** Alternately held and stranded, in the order of the users chosen. */
export const disconnectKind = (index: number): DisconnectKind =>
  Math.floor(index * DISCONNECT_SHARE) % 2 === 0 ? 'held' : 'stranded'

type Attempt = {
  user: string
  token: string
  kind: DisconnectKind
  /** Set when the emulator answered the exchange (with the faults already armed). */
  itemId?: string
  /** `aborted`: the client went away after the API's next Plaid call arrived; otherwise the API answered first. */
  outcome?: 'aborted' | 'answered'
  status?: number
  abortedAt?: number
  /** When the request itself was seen to have stored the Item anyway, in ms after the abort. */
  storedByRequestAfterMs?: number
  /** When the Item was first seen settled (listed for its user, or removed at Plaid), in ms after the abort. */
  settledAfterMs?: number
}

const attempts: Attempt[] = []
/** Public token -> what to do when Plaid answers its exchange. */
const watched = new Map<string, (exchange: Exchange) => void>()
/** item_id -> how the Worker logged settling its pending link (finished, removed, dropped). */
const pendingLinkLog = new Map<string, string>()
/** Faults of stranded links still armed: cleared once they settled, before verification calls Plaid. */
const leftovers: Fault[] = []

/**
 * The emulator's `onExchange`: for a watched public token, Plaid's successful exchange arms the
 * faults on the new access token before the answer leaves the emulator.
 */
export function onPlaidExchange(exchange: Exchange): void {
  if (exchange.path !== '/item/public_token/exchange' || exchange.status !== 200) return
  const publicToken = (exchange.request as { public_token?: unknown } | undefined)?.public_token
  if (typeof publicToken !== 'string') return
  watched.get(publicToken)?.(exchange)
}

/** The Worker's log lines about pending links (from the load test's wrangler output reader). */
export function onWorkerLog(message: string, itemId: unknown): void {
  if (message.startsWith('pending link ') && typeof itemId === 'string') pendingLinkLog.set(itemId, message)
}

/** The faults a disconnect of `kind` arms on the access token; the first tells when to abort. */
function faultsFor(kind: DisconnectKind, accessToken: string): Fault[] {
  const armed = { access_token: accessToken, waiting: 0 }
  if (kind === 'held') {
    return [{ ...armed, endpoint: '/accounts/get', kind: 'slow', delay_ms: HOLD_MS, remaining: 1 }]
  }
  // As many as the Plaid client's attempts (src/plaid/client.ts): the job, later, gets through.
  return ['/accounts/get', '/item/remove'].map((endpoint) => ({
    ...armed,
    endpoint,
    kind: 'status' as const,
    status: 502,
    remaining: 3,
  }))
}

/**
 * Links `institution` and abandons the exchange once the API has made its next Plaid call after
 * it (so the pending link is recorded). Answers the Item, which is the user's though the user
 * never saw it, and the API's answer when it came before the abort.
 */
export async function abandonedExchange(
  stack: Stack,
  user: DisconnectUser,
  kind: DisconnectKind,
  publicToken: string,
): Promise<{ itemId?: string; answered?: { status: number; body: Record<string, unknown> } }> {
  const attempt: Attempt = { user: user.id, token: user.token, kind }
  attempts.push(attempt)
  const faults = stack.emulator.tenant(stack.clientId).faults
  let armed: Fault[] = []
  const exchanged = new Promise<void>((resolve) => {
    watched.set(publicToken, (exchange) => {
      const response = exchange.response as { item_id?: string; access_token?: string }
      if (armed.length > 0 || !response.access_token) return
      attempt.itemId = response.item_id
      armed = faultsFor(kind, response.access_token)
      faults.push(...armed)
      resolve()
    })
  })
  const controller = new AbortController()
  const exchange = { method: 'POST', path: `${API_PREFIX}/exchange-token`, headers: bearer(user.token) }
  const request = callApi(
    stack.apiUrl,
    { ...exchange, body: { public_token: publicToken } },
    { signal: controller.signal },
  )
    // No answer (status 0): aborted.
    .then((a) => (a.status === 0 ? null : { status: a.status, body: a.json }))
  let answer: { status: number; body: Record<string, unknown> } | null | undefined
  void request.then((a) => {
    answer = a
  })
  const first = () => armed[0]
  // The API's call has reached the emulator once the first fault was taken (counted down or gone).
  const reached = () => {
    const f = first()
    return f !== undefined && (!faults.includes(f) || f.remaining < (kind === 'held' ? 1 : 3))
  }
  try {
    await Promise.race([exchanged, request])
    const deadline = Date.now() + 10_000
    while (answer === undefined && first() && !reached() && Date.now() < deadline) await sleep(5)
    if (answer === undefined && reached()) {
      // Held: well inside the hold. Stranded: at once, before the API's retries run out.
      if (kind === 'held') await sleep(ABORT_AFTER_MS)
      if (answer === undefined) {
        controller.abort()
        attempt.outcome = 'aborted'
        attempt.abortedAt = Date.now()
        if (kind === 'held') await watchRequestFinish(stack, attempt)
        return { itemId: attempt.itemId }
      }
    }
    answer = answer === undefined ? await request : answer
    attempt.outcome = 'answered'
    attempt.status = answer?.status ?? 0
    return { itemId: attempt.itemId, answered: answer ?? undefined }
  } finally {
    watched.delete(publicToken)
    leftovers.push(...armed)
  }
}

/**
 * Whether the Worker goes on with a request whose client went away (local workerd) or stops it
 * (Cloudflare): the Item listed within the hold and a few seconds, long before the grace period
 * ends, was stored by the request itself.
 */
async function watchRequestFinish(stack: Stack, attempt: Attempt): Promise<void> {
  const until = Date.now() + HOLD_MS + 5000
  while (Date.now() < until) {
    if ((await listItems(stack, attempt.token))?.includes(attempt.itemId as string)) {
      attempt.storedByRequestAfterMs = Date.now() - (attempt.abortedAt as number)
      return
    }
    await sleep(100)
  }
}

const listItems = async (stack: Stack, token: string): Promise<string[] | null> => {
  const request = { method: 'GET', path: `${API_PREFIX}/items`, headers: bearer(token) }
  const res = await callApi(stack.apiUrl, request, { timeoutMs: 30_000 })
  const items = res.status === 200 ? res.json.items : undefined
  return Array.isArray(items) ? items.map((i: { item_id: string }) => i.item_id) : null
}

type EmulatorItems = () => Promise<{ item_id: string; removed: boolean }[]>

/**
 * Waits until every abandoned exchange's Item is listed for its user or removed at Plaid, at most
 * the grace period and SETTLE_SLACK_MS after the last abort. Answers how long it waited.
 */
export async function waitForDisconnects(
  stack: Stack,
  emulatorItems: EmulatorItems,
  progress: (message: string) => void,
): Promise<number> {
  const started = Date.now()
  const aborted = attempts.filter((a) => a.outcome === 'aborted' && a.itemId)
  const lastAbort = Math.max(0, ...aborted.map((a) => a.abortedAt ?? 0))
  const deadline = lastAbort + GRACE_SECONDS * 1000 + SETTLE_SLACK_MS
  while (true) {
    const removed = new Set((await emulatorItems()).filter((i) => i.removed).map((i) => i.item_id))
    for (const a of aborted) {
      if (a.settledAfterMs !== undefined) continue
      const listed = removed.has(a.itemId as string) || (await listItems(stack, a.token))?.includes(a.itemId as string)
      if (listed) a.settledAfterMs = Date.now() - (a.abortedAt ?? Date.now())
    }
    const left = aborted.filter((a) => a.settledAfterMs === undefined).length
    if (left === 0 || Date.now() > deadline) break
    progress(
      `disconnects: ${aborted.length - left}/${aborted.length} abandoned exchanges settled; waiting for pending links (grace ${GRACE_SECONDS} s)`,
    )
    await sleep(2000)
  }
  const faults = stack.emulator.tenant(stack.clientId).faults
  for (const fault of leftovers) {
    const at = faults.indexOf(fault)
    if (at !== -1) faults.splice(at, 1)
  }
  return Date.now() - started
}

export type DisconnectCheck = { name: string; compared: string; failures: number; problems: string[] }

/**
 * Each abandoned exchange's Item (aborted, or answered first), against Plaid (the emulator's
 * Items after the run): live there and listed exactly once by its user, or removed there and
 * not listed.
 */
export async function checkDisconnects(
  stack: Stack,
  emulatorItems: { item_id: string; removed: boolean; access_token: string | null }[],
  waitedMs: number,
): Promise<DisconnectCheck> {
  const problems: string[] = []
  const byId = new Map(emulatorItems.map((i) => [i.item_id, i]))
  const counts = { stored: 0, removed: 0, byRequest: 0, byAlarm: 0 }
  for (const a of attempts) {
    if (a.itemId === undefined) continue // Plaid's exchange never answered: no Item
    const item = byId.get(a.itemId)
    if (!item) {
      problems.push(`${a.user}: the abandoned exchange's Item ${a.itemId} is unknown to Plaid`)
      continue
    }
    const listed = await listItems(stack, a.token)
    const times = listed?.filter((id) => id === item.item_id).length ?? -1
    const live = !item.removed && item.access_token !== null
    if (live && times !== 1) {
      problems.push(
        `${a.user}: ${item.item_id} is live at Plaid but GET /items lists it ${times} times (expected once)`,
      )
    }
    if (!live && times !== 0) {
      problems.push(`${a.user}: ${item.item_id} is removed at Plaid but GET /items lists it ${times} times`)
    }
    if (a.outcome !== 'aborted') continue
    if (!live) counts.removed++
    else {
      counts.stored++
      if (a.storedByRequestAfterMs !== undefined) counts.byRequest++
      else if (pendingLinkLog.get(item.item_id)?.startsWith('pending link finished')) counts.byAlarm++
    }
  }
  const aborted = attempts.filter((a) => a.outcome === 'aborted')
  const answered = attempts.filter((a) => a.outcome === 'answered')
  const of = (kind: DisconnectKind) => aborted.filter((a) => a.kind === kind).length
  const settle = aborted.map((a) => a.settledAfterMs).filter((ms): ms is number => ms !== undefined)
  const byRequestMs = aborted.map((a) => a.storedByRequestAfterMs).filter((ms): ms is number => ms !== undefined)
  const seconds = (list: number[]) => (list.length ? (Math.max(...list) / 1000).toFixed(1) : '-')
  return {
    name: '(e) Disconnects: every exchange abandoned right after Plaid answered ends with its Item stored and listed once for its user, or removed at Plaid',
    compared: `${attempts.length} exchanges abandoned: ${aborted.length} aborted after Plaid's exchange answered (${of('held')} with /accounts/get held, ${of('stranded')} stranded), ${answered.length} answered before the abort (${answered.map((a) => a.status).join(', ') || '-'}). Of the aborted: ${counts.stored} stored (${counts.byRequest} by the request itself, at most ${seconds(byRequestMs)} s after its client went away; ${counts.byAlarm} by the pending-link alarm, ${GRACE_SECONDS} s grace; ${counts.stored - counts.byRequest - counts.byAlarm} otherwise), ${counts.removed} removed at Plaid; the last settled ${seconds(settle)} s after its abort (waited ${(waitedMs / 1000).toFixed(1)} s after the flows)`,
    failures: problems.length,
    problems,
  }
}
