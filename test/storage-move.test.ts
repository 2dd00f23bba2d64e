import { runInDurableObject } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { itemSyncJob } from '../src/queue/jobs'
import { awaitsMove } from '../src/store/legacy/gate'
import { IMPORTED, moveSlice, usersLeftToMove } from '../src/store/legacy/move'
import { api, deliverAndConsume } from './helpers/api'
import { runCron } from './helpers/cron'
import { recordingD1, withoutTables } from './helpers/d1'
import { emulator } from './helpers/emulator'
import { queuedJobs, runQueue, type TestEnv, testEnv } from './helpers/env'
import { apiView, LEGACY_TABLES, userOnlyInD1 } from './helpers/legacy-user'
import { exchange, itemIdOf, newUser } from './helpers/linking'
import { captureLogs } from './helpers/logs'
import { expectInStep } from './helpers/transactions'
import { evict, poisonedUserStore, rowIn, rowsIn, userStoreOf, watchedUserStore } from './helpers/user-store'

const db = () => baseEnv.DB as D1Database

const moveRecorded = (userId: string) =>
  db().prepare('SELECT user_id FROM storage_moves WHERE user_id = ?').bind(userId).first()

describe('moving users from D1 into their objects', () => {
  it('moves a user on their first request: every Item, account, transaction, cursor and claim', async () => {
    const env = testEnv()
    const { user, publicToken, itemId, before } = await userOnlyInD1(env)
    expect(await rowsIn(user.id, 'SELECT * FROM items')).toEqual([])

    expect(await apiView(env, user)).toEqual(before)
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    // The cursor came along: a sync finds nothing new; and the token still opens (same user and Item).
    const synced = await api.sync(env, user.token, itemId)
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

    expect((await api.removeItem(env, user.token, itemId)).status).toBe(204)
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

  it('moves the other users when one user’s move fails, and that user at a later run', async () => {
    const env = { ...testEnv(), MOVE_IDLE_USERS: 'true' }
    const users = [(await userOnlyInD1(env)).user.id, (await userOnlyInD1(env)).user.id].sort()
    // The cron takes users in id order: the first one's move fails.
    const [poisoned, other] = users as [string, string]

    const { logs } = await captureLogs(() => runCron({ ...env, USER_STORE: poisonedUserStore(poisoned) }))
    expect(await moveRecorded(other)).toEqual({ user_id: other })
    expect(await moveRecorded(poisoned)).toBeNull()
    expect(logs).toContain('a user could not be moved into their object; tried again on a later run')
    expect(logs).not.toContain(poisoned)

    await runCron(env)
    expect(await moveRecorded(poisoned)).toEqual({ user_id: poisoned })
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

  it('keeps syncing a moved user’s Items from webhooks, although their rows stay in the old tables', async () => {
    const env = testEnv()
    const { user, itemId, before } = await userOnlyInD1(env)
    expect(await apiView(env, user)).toEqual(before)
    await emulator.webhooks(env) // forget what linking sent

    await emulator.changeTransactions(env, itemId, { add: 5, fire_webhook: true })
    const announced = (await emulator.webhooks(env)).filter(
      (d) => JSON.parse(d.body).webhook_code === 'SYNC_UPDATES_AVAILABLE',
    )
    expect(announced).toHaveLength(1)
    await deliverAndConsume(env, announced[0] as (typeof announced)[number])
    expect((await expectInStep(env, user, itemId)).length).toBe(before.transactions.length + 5)
  })

  it('the hourly cron leaves users already moved alone', async () => {
    const store = watchedUserStore()
    const env = { ...testEnv({ USER_STORE: store.namespace }), MOVE_IDLE_USERS: 'true' }
    const { user, before } = await userOnlyInD1(env)
    expect(await apiView(env, user)).toEqual(before)
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    // The first run may hand the user's object their Items linked around the move, once
    // (reconcile items of the earlier release); from then on the user is left alone.
    await runCron(env)
    store.named.length = 0

    await runCron(env)
    expect(store.named).not.toContain(user.id)
  })

  it('reads each old table in pages, not once per row', async () => {
    const env = testEnv()
    const { user, before } = await userOnlyInD1(env)
    const { db: recording, prepared } = recordingD1()
    await runInDurableObject(userStoreOf(user.id), (_instance, state) => moveSlice(recording, state.storage, user.id))
    // Each table fits in one page (under 1000 rows): that read, and the empty one that ends it.
    const reads = prepared.filter((sql) => sql.startsWith('SELECT'))
    expect(reads).toHaveLength(2 * LEGACY_TABLES.length)
    expect(await apiView(env, user)).toEqual(before)
  })

  it('once the old tables are dropped, opens a new user’s object with nothing to move, and the jobs and the cron find nobody left', async () => {
    const user = await newUser()
    const dropped = withoutTables(LEGACY_TABLES)
    await runInDurableObject(userStoreOf(user.id), async (_instance, state) => {
      await moveSlice(dropped, state.storage, user.id)
      expect(state.storage.sql.exec(IMPORTED).toArray()).toHaveLength(1)
    })
    expect(await moveRecorded(user.id)).toBeNull()
    expect(await awaitsMove(dropped, user.id)).toBe(false)
    expect(await usersLeftToMove(dropped, '', 100)).toEqual([])
  })
})
