/** Scale: many simulated users under `wrangler dev`, and what each user's object and the D1 index hold (docs/bench.md). */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { API_PREFIX, type ApiRequest, bearer } from '../lib/api'
import { mapLimit } from '../lib/concurrency'
import { emulatorControlOk } from '../lib/plaid'
import { sleep, stopGroup } from '../lib/process'
import { startStack } from '../lib/stack'
import { sqliteQuery, userObjectFiles } from '../lib/user-objects'
import { CONCURRENCY, HISTORY_CONCURRENCY, progress, SCALE_HISTORY, SCALE_USERS, USERS_PER_SESSION } from './options'
import { api, type BenchContext, linkItem, newUser, type User } from './users'

/**
 * Syncs of 1,800 transactions at once, 4 at a time: more only queue up behind each other in the
 * one local workerd. Under that load wrangler's dev proxy sometimes answers 503 "Your worker
 * restarted mid-request" without the Worker having seen the request; a sync is safe to repeat, so
 * that answer is sent again (at most twice) and counted in the report.
 */
async function syncWithResend(ctx: BenchContext, user: User, itemId: string, resends: { count: number }) {
  const request: ApiRequest = {
    method: 'POST',
    path: `${API_PREFIX}/items/${itemId}/sync`,
    headers: bearer(user.token),
  }
  for (let attempt = 0; ; attempt++) {
    const answer = await api(ctx, request)
    if (answer.status !== 503 || !answer.text.includes('restarted mid-request') || attempt === 2) return answer
    resends.count++
  }
}

/**
 * SCALE_USERS users link two Items each (two banks) through the API; once every Item's queued
 * first sync has run, each Item's history at the bank grows to SCALE_HISTORY transactions and the
 * user syncs it (POST /items/:item_id/sync), as a typical user's would have over two years.
 */
export type Simulated = {
  users: User[]
  items: string[]
  seconds: number
  transactions: number
  /** Syncs sent again after a dev-proxy 503. */
  resends: number
}

async function simulateUsers(ctx: BenchContext, count: number): Promise<Simulated> {
  progress(`scale: ${count} users link 2 Items each (concurrency ${CONCURRENCY})`)
  const t0 = performance.now()
  const users: User[] = []
  for (let i = 0; i < count; i++) users.push(await newUser('scale'))
  const linked: { user: User; itemId: string }[] = []
  const resends = { count: 0 }
  await mapLimit(users, CONCURRENCY, async (user) => {
    for (const bank of ['ins_109508', 'ins_109509']) linked.push({ user, itemId: await linkItem(ctx, user, bank) })
  })
  const wanted = new Set(linked.map((l) => l.itemId))
  const deadline = Date.now() + 180_000
  for (;;) {
    const { items: atPlaid } = await emulatorControlOk<{ items: { item_id: string; sync_called: boolean }[] }>(
      ctx,
      'GET',
      '/items',
    )
    const synced = atPlaid.filter((i) => wanted.has(i.item_id) && i.sync_called).length
    if (synced === wanted.size) break
    if (Date.now() > deadline) throw new Error(`only ${synced} of ${wanted.size} first syncs ran within 180 s`)
    await sleep(250)
  }
  let transactions = 0
  if (SCALE_HISTORY > 0) {
    progress(`scale: each of the ${linked.length} Items grows to ${SCALE_HISTORY} transactions and is synced`)
    await mapLimit(linked, HISTORY_CONCURRENCY, async ({ user, itemId }) => {
      const { transactions: live } = await emulatorControlOk<{ transactions: unknown[] }>(
        ctx,
        'GET',
        `/items/${itemId}/transactions`,
      )
      const add = Math.max(0, SCALE_HISTORY - live.length)
      if (add > 0) await emulatorControlOk(ctx, 'POST', `/items/${itemId}/transactions`, { add })
      const synced = await syncWithResend(ctx, user, itemId, resends)
      if (synced.status !== 200)
        throw new Error(`syncing ${itemId} answered ${synced.status}: ${synced.text.slice(0, 200)}`)
      transactions += live.length + add
    })
  }
  return { users, items: [...wanted], seconds: (performance.now() - t0) / 1000, transactions, resends: resends.count }
}

/**
 * simulateUsers in sessions of USERS_PER_SESSION, each under a fresh `wrangler dev` and emulator on
 * the same local state. Deployed, each object lives on its own; locally one workerd holds them all
 * (and wrangler's dev proxy grows with the traffic), and a single session runs out of heap.
 */
export async function simulateUsersInSessions(workdir: string): Promise<Simulated> {
  const all: Simulated = { users: [], items: [], seconds: 0, transactions: 0, resends: 0 }
  for (let done = 0; done < SCALE_USERS; done += USERS_PER_SESSION) {
    const session = await startStack({ workdir, progress })
    try {
      const part = await simulateUsers(session, Math.min(USERS_PER_SESSION, SCALE_USERS - done))
      all.users.push(...part.users)
      all.items.push(...part.items)
      all.seconds += part.seconds
      all.transactions += part.transactions
      all.resends += part.resends
    } catch (error) {
      console.error(`wrangler dev's last output:\n${session.tail()}`)
      throw error
    } finally {
      await stopGroup(session.wrangler)
      await session.emulator.close()
    }
  }
  return all
}

export type ObjectSize = { userId: string; bytes: number; fileBytes: number; items: number; transactions: number }

/**
 * Each user object's size and what it holds, read after wrangler stopped: `bytes` is every page of
 * its tables and indexes (SQLite's dbstat; free pages left by dropped staging are not counted, as
 * they are reused), `fileBytes` the files on disk (database and WAL).
 */
export function objectSizes(persistTo: string): ObjectSize[] {
  return userObjectFiles(persistTo).map((file) => {
    const [row] = sqliteQuery(
      file,
      `SELECT (SELECT value FROM meta WHERE key = 'user_id') AS user_id, (SELECT SUM(pgsize) FROM dbstat) AS bytes,
              (SELECT COUNT(*) FROM items) AS items, (SELECT COUNT(*) FROM transactions) AS transactions`,
    )
    return {
      userId: String(row?.user_id),
      bytes: Number(row?.bytes),
      fileBytes: [file, `${file}-wal`].filter(existsSync).reduce((n, f) => n + statSync(f).size, 0),
      items: Number(row?.items),
      transactions: Number(row?.transactions),
    }
  })
}

/** The D1 index's bytes (its table and index pages, as D1 counts them) and rows. */
export function indexSize(persistTo: string): { bytes: number; payload: number; rows: number } {
  const dir = join(persistTo, 'v3', 'd1', 'miniflare-D1DatabaseObject')
  const [file] = readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f))
  if (!file) throw new Error(`no local D1 database in ${dir}`)
  const [row] = sqliteQuery(
    join(dir, file),
    `SELECT (SELECT SUM(pgsize) FROM dbstat WHERE name IN ('item_index', 'item_index_by_key')) AS bytes,
            (SELECT SUM(payload) FROM dbstat WHERE name IN ('item_index', 'item_index_by_key')) AS payload,
            (SELECT COUNT(*) FROM item_index) AS rows`,
  )
  return { bytes: Number(row?.bytes), payload: Number(row?.payload), rows: Number(row?.rows) }
}
