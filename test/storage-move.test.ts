import {
  createExecutionContext,
  createScheduledController,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../src/index'
import { itemSyncJob } from '../src/webhooks/job'
import { exchange, itemIdOf, newUser, settleFirstSync, type User } from './helpers/linking'
import { captureLogs } from './helpers/logs'
import { listAll } from './helpers/transactions'
import { evict, rowIn, rowsIn, userStoreOf, watchedUserStore } from './helpers/user-store'
import { call, emulator, queuedJobs, runQueue, type TestEnv, testEnv } from './helpers/worker'

const db = () => baseEnv.DB as D1Database
const TABLES = ['items', 'accounts', 'public_token_exchanges', 'transactions'] as const

/** Everything the API shows the user. */
async function apiView(env: TestEnv, user: User) {
  const get = async (path: string) => (await call(env, 'GET', path, { token: user.token })).body
  return {
    items: await get('/api/v1/banking/items'),
    accounts: await get('/api/v1/banking/accounts'),
    transactions: await listAll(env, user),
  }
}

/**
 * A user as an earlier release left them: their rows only in the D1 tables of migrations
 * 0001-0005 (with user_id, as those tables have it), and no object yet. Made by linking through
 * the front door, then moving the object's rows into D1 and emptying the object.
 */
async function userOnlyInD1(env: TestEnv) {
  const user = await newUser()
  const publicToken = await emulator.publicToken(env)
  const linked = await exchange(env, user, publicToken)
  expect(linked.status).toBe(201)
  await settleFirstSync(env, itemIdOf(linked))
  // Those releases kept no enrichment (schema version 3): the D1 tables have no column for it.
  await runInDurableObject(userStoreOf(user.id), (_instance, state) => {
    state.storage.sql.exec('UPDATE transactions SET enrichment = NULL')
  })
  const before = await apiView(env, user)
  expect(before.transactions.length).toBeGreaterThan(0)
  const rows: Record<string, Record<string, unknown>[]> = {}
  for (const table of TABLES) {
    rows[table] = (await rowsIn(user.id, `SELECT * FROM ${table}`)).map(({ enrichment: _, ...row }) => row)
    for (const row of rows[table] ?? []) {
      const values = { ...row, user_id: user.id }
      const columns = Object.keys(values)
      await db()
        .prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
        .bind(...Object.values(values))
        .run()
    }
  }
  await runInDurableObject(userStoreOf(user.id), (_instance, state) => state.storage.deleteAll())
  await evict(user.id)
  return { user, publicToken, itemId: itemIdOf(linked), before, rows }
}

const moveRecorded = (userId: string) =>
  db().prepare('SELECT user_id FROM storage_moves WHERE user_id = ?').bind(userId).first()

async function runCron(env: TestEnv) {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '17 * * * *' }), env, ctx)
  await waitOnExecutionContext(ctx)
}

describe('moving users from D1 into their objects', () => {
  it('moves a user on their first request: every Item, account, transaction, cursor and claim', async () => {
    const env = testEnv()
    const { user, publicToken, itemId, before } = await userOnlyInD1(env)
    expect(await rowsIn(user.id, 'SELECT * FROM items')).toEqual([])

    expect(await apiView(env, user)).toEqual(before)
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    // The cursor came along: a sync finds nothing new; and the token still opens (same user and Item).
    const synced = await call(env, 'POST', `/api/v1/banking/items/${itemId}/sync`, { token: user.token })
    expect(synced.body).toEqual({ status: 'synced', added: 0, modified: 0, removed: 0 })
    // The claim came along: the same public token is answered from storage, not exchanged again.
    const replay = await exchange(env, user, publicToken)
    expect(replay.status).toBe(200)
    expect(itemIdOf(replay)).toBe(itemId)
  })

  it('is idempotent: moving again changes nothing, and brings back nothing the user removed since', async () => {
    const env = testEnv()
    const { user, itemId, before } = await userOnlyInD1(env)
    expect(await apiView(env, user)).toEqual(before)
    await userStoreOf(user.id).moveIn(user.id)
    expect(await apiView(env, user)).toEqual(before)

    expect((await call(env, 'DELETE', `/api/v1/banking/items/${itemId}`, { token: user.token })).status).toBe(204)
    await userStoreOf(user.id).moveIn(user.id)
    await runCron(env)
    expect(await apiView(env, user)).toEqual({ items: { items: [] }, accounts: { accounts: [] }, transactions: [] })
  })

  it('resumes a move cut short, and the hourly cron moves users who have not come back when asked to', async () => {
    const env = testEnv()
    const { user, before, rows } = await userOnlyInD1(env)
    // What an interrupted move leaves: the Item and part of the transactions, no mark of completion.
    await runInDurableObject(userStoreOf(user.id), (_instance, state) => {
      const partial = { items: rows.items ?? [], transactions: (rows.transactions ?? []).slice(0, 5) }
      for (const [table, list] of Object.entries(partial)) {
        for (const row of list) {
          const columns = Object.keys(row)
          state.storage.sql.exec(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
            ...Object.values(row),
          )
        }
      }
    })
    await evict(user.id)
    expect(await rowIn(user.id, "SELECT value FROM meta WHERE key = 'legacy_import'")).toBeNull()
    expect(await moveRecorded(user.id)).toBeNull()

    await runCron({ ...env, MOVE_IDLE_USERS: 'true' })
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    expect(await rowIn(user.id, 'SELECT COUNT(*) AS n FROM transactions')).toEqual({
      n: rows.transactions?.length,
    })
    expect(await apiView(env, user)).toEqual(before)
  })

  it('leaves a user who has not come back to their return: webhook jobs, the re-seal and the cron create no object', async () => {
    const store = watchedUserStore()
    const env = testEnv({ USER_STORE: store.namespace })
    const { user, itemId, before } = await userOnlyInD1(env)
    store.named.length = 0

    queuedJobs(env).push(itemSyncJob(itemId, 'linked', null), {
      ...itemSyncJob(itemId, 'linked', null),
      webhook_type: 'ITEM',
      webhook_code: 'LOGIN_REPAIRED',
    })
    const { logs } = await captureLogs(() => runQueue(env))
    expect(logs).toContain("webhook left for the user's return: their rows are not in their object yet")
    const rotated = {
      ...env,
      TOKEN_ENCRYPTION_KEY: btoa('a-key-this-move-test-rotates-to!'),
      TOKEN_ENCRYPTION_KEYS_OLD: env.TOKEN_ENCRYPTION_KEY,
    }
    await runCron(rotated as TestEnv)
    expect(store.named).not.toContain(user.id)
    expect(await moveRecorded(user.id)).toBeNull()

    // Their first request moves them in, with everything as it was.
    expect(await apiView(env, user)).toEqual(before)
    expect(store.named).toContain(user.id)
  })
})
