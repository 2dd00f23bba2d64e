/** One Item's transactions sync, timed end to end, with the Worker's memory and CPU over it (docs/bench.md). */
import { API_PREFIX, type ApiAnswer, type ApiRequest, bearer } from '../lib/api'
import { emulatorControlOk } from '../lib/plaid'
import { sleep } from '../lib/process'
import { progress, SYNC_TRANSACTIONS } from './options'
import { cpuMs, type RssSeries, watchRss, workerdPids } from './proc'
import { api, type BenchContext, linkItem, newUser, type User } from './users'

export type Timed = { ms: number; answer: ApiAnswer }

async function timed(ctx: BenchContext, request: ApiRequest): Promise<Timed> {
  const t0 = performance.now()
  const answer = await api(ctx, request)
  return { ms: performance.now() - t0, answer }
}

export type SyncBench = {
  userId: string
  /** Transactions Plaid (the emulator) holds for the Item when the sync starts. */
  live: number
  first: Timed
  noop: Timed
  listing: { ms: number; pages: number; count: number; unique: number; foreign: number }
  /** The Worker's workerd, and wrangler's dev proxy (absent if it could not be told apart). */
  rss: { worker: RssSeries; proxy?: RssSeries }
  cpu: SyncCpu
  problems: string[]
}

/**
 * The CPU time of the workerd that runs the Worker and its objects (one process under `wrangler
 * dev`), over the first sync and over its apply. The apply's window runs from the Worker's log
 * line `sync applying its staged changes in parts` (written once the first part is applied) to
 * its line `sync applied in parts` (which counts the parts), so it holds the object calls of every
 * part but the first, and the Worker's small share of making them.
 */
type SyncCpu = { totalMs: number; applyMs: number; applyCalls: number; pageCalls: number }

/** Where the Worker's apply log lines go while a sync is measured. */
let onApplyLine: ((message: string, fields: Record<string, unknown>) => void) | undefined

/** `wrangler dev`'s output, line by line: the Worker's JSON log lines about a sync's apply. */
export function onWranglerLine(line: string): void {
  const start = line.indexOf('{"level"')
  if (start === -1 || !onApplyLine || !line.includes('sync appl')) return
  try {
    const entry = JSON.parse(line.slice(start)) as Record<string, unknown>
    onApplyLine(String(entry.message), entry)
  } catch {
    // not one of ours
  }
}

/**
 * Waits until the first sync that the exchange queued has stored the Item's history (what Plaid
 * holds for it now), so a measured sync does not race it.
 */
async function waitForFirstSync(ctx: BenchContext, user: User, itemId: string): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const live = await emulatorControlOk<{ transactions: unknown[] }>(ctx, 'GET', `/items/${itemId}/transactions`)
    const listed = await api(ctx, {
      method: 'GET',
      path: `${API_PREFIX}/transactions?item_id=${itemId}&limit=500`,
      headers: bearer(user.token),
    })
    const count = (listed.json.transactions as unknown[] | undefined)?.length ?? 0
    if (listed.status === 200 && count === live.transactions.length) return
    if (Date.now() > deadline) throw new Error(`the first sync of ${itemId} did not finish within 60 s`)
    await sleep(100)
  }
}

export async function measureSync(
  ctx: BenchContext,
  wranglerLeader: number,
  transactions = SYNC_TRANSACTIONS,
): Promise<SyncBench> {
  progress(`transactions sync: linking an Item and adding ${transactions} transactions at the emulator`)
  const user = await newUser('sync')
  const itemId = await linkItem(ctx, user)
  await waitForFirstSync(ctx, user, itemId)
  // The emulator adds at most 100,000 a call.
  let added: { transactions?: unknown } = {}
  for (let left = transactions; left > 0; left -= 100_000) {
    added = await emulatorControlOk(ctx, 'POST', `/items/${itemId}/transactions`, { add: Math.min(left, 100_000) })
  }
  const live = Number(added.transactions)
  const sync: ApiRequest = { method: 'POST', path: `${API_PREFIX}/items/${itemId}/sync`, headers: bearer(user.token) }

  const pids = workerdPids(wranglerLeader)
  if (pids.worker.length === 0) throw new Error(`no workerd process in wrangler's process group ${wranglerLeader}`)
  // Let the exchange's after-effects settle so the baseline is a resting one.
  await sleep(500)
  progress(`transactions sync: POST ${sync.path} (${live} transactions; workerd pid ${pids.worker.join(', ')})`)
  const workerRss = watchRss(pids.worker)
  const proxyRss = pids.proxy.length > 0 ? watchRss(pids.proxy) : undefined
  const apply = { startMs: Number.NaN, endMs: Number.NaN, parts: 0 }
  onApplyLine = (message, fields) => {
    if (message === 'sync applying its staged changes in parts') apply.startMs = cpuMs(pids.worker)
    if (message === 'sync applied in parts') {
      apply.endMs = cpuMs(pids.worker)
      apply.parts = Number(fields.parts)
    }
  }
  const cpuBefore = cpuMs(pids.worker)
  const first = await timed(ctx, sync)
  // The last log line may come a moment after the answer.
  for (let wait = 0; apply.startMs >= 0 && Number.isNaN(apply.endMs) && wait < 20; wait++) await sleep(50)
  onApplyLine = undefined
  const cpu: SyncCpu = {
    totalMs: cpuMs(pids.worker) - cpuBefore,
    applyMs: apply.endMs - apply.startMs,
    // The first part is applied by the call that begins the apply, before the window opens.
    applyCalls: apply.parts - 1,
    pageCalls: Math.ceil(transactions / 500),
  }
  const rss = { worker: workerRss.stop(), proxy: proxyRss?.stop() }

  progress('transactions sync: the same sync again (no changes)')
  const noop = await timed(ctx, sync)

  progress('transactions sync: listing every transaction, 500 a page')
  const ids = new Set<string>()
  let count = 0
  let foreign = 0
  let pages = 0
  let cursor: string | null = null
  const t0 = performance.now()
  const problems: string[] = []
  do {
    const params = new URLSearchParams({ item_id: itemId, limit: '500' })
    if (cursor) params.set('cursor', cursor)
    const page = await api(ctx, {
      method: 'GET',
      path: `${API_PREFIX}/transactions?${params}`,
      headers: bearer(user.token),
    })
    pages++
    if (page.status !== 200) {
      problems.push(`listing page ${pages} answered ${page.status}: ${page.text.slice(0, 200)}`)
      break
    }
    const transactions = (page.json.transactions ?? []) as { transaction_id: string; item_id: string }[]
    for (const t of transactions) {
      count++
      ids.add(t.transaction_id)
      if (t.item_id !== itemId) foreign++
    }
    cursor = page.json.next_cursor as string | null
  } while (cursor)
  const listingMs = performance.now() - t0

  const result = (t: Timed) => t.answer.json as { added?: number; modified?: number; removed?: number }
  if (first.answer.status !== 200)
    problems.push(`sync answered ${first.answer.status}: ${first.answer.text.slice(0, 300)}`)
  else if (result(first).added !== transactions) {
    problems.push(`sync added ${result(first).added}, expected ${transactions}`)
  }
  if (noop.answer.status !== 200)
    problems.push(`no-op sync answered ${noop.answer.status}: ${noop.answer.text.slice(0, 300)}`)
  else if (result(noop).added !== 0 || result(noop).modified !== 0 || result(noop).removed !== 0) {
    problems.push(`no-op sync reported changes: ${noop.answer.text.slice(0, 200)}`)
  }
  if (count !== live || ids.size !== live) {
    problems.push(`listing returned ${count} transactions (${ids.size} distinct), the emulator holds ${live}`)
  }
  if (foreign > 0) problems.push(`listing with item_id returned ${foreign} transactions of other Items`)
  return {
    userId: user.id,
    live,
    first,
    noop,
    listing: { ms: listingMs, pages, count, unique: ids.size, foreign },
    rss,
    cpu,
    problems,
  }
}
