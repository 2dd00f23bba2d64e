import { runInDurableObject } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect } from 'vitest'
import { itemSyncJob } from '../src/queue/jobs'
import { listTransactions } from '../src/store/transactions'
import { migrateUserSchema, schemaVersion, USER_SCHEMA_VERSION } from '../src/store/user-schema'
import type { UserStore } from '../src/store/user-store'
import { api, WEBHOOK_URL } from './helpers/api'
import { emulator } from './helpers/emulator'
import { queuedJobs, runQueue, testEnv } from './helpers/env'
import { it } from './helpers/fixtures'
import { itemIdOf, linkItem, linkItemBeforeFirstSync, newUser } from './helpers/linking'
import { listAll } from './helpers/transactions'
import { evict, rowIn, rowsIn, userStoreOf, watchedUserStore } from './helpers/user-store'

/**
 * What the object of `ownerId` throws when its listItems is called for `userId` (undefined if it
 * answers), caught inside the object: thrown back across RPC, workerd would print its stack.
 */
const refusalOf = (ownerId: string, userId: string) =>
  runInDurableObject(userStoreOf(ownerId), async (instance) => {
    try {
      await (instance as UserStore).listItems(userId)
    } catch (error) {
      return String(error)
    }
    return undefined
  })

describe('schema versions of a user’s object', () => {
  it('counts only the steps that ran when a later step fails', async () => {
    const user = await newUser()
    await runInDurableObject(userStoreOf(user.id), async (_instance, state) => {
      await state.storage.deleteAll()
      // A table in the way of step 2 (version 2 creates sync_runs) makes that step fail.
      state.storage.sql.exec('CREATE TABLE sync_runs (sync_id TEXT PRIMARY KEY)')
      expect(() => migrateUserSchema(state.storage)).toThrow(/sync_runs/)
      expect(schemaVersion(state.storage.sql)).toBe(1)
    })
  })

  it('upgrades an object created at version 1 on its first use by the current code, keeping its data', async () => {
    expect(USER_SCHEMA_VERSION).toBe(8)
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    // The object as the release with schema version 1 left it: its storage rebuilt at version 1
    // with the same Item (the sealed token is bound to the user and Item ids, not to the object).
    await runInDurableObject(userStoreOf(user.id), async (_instance, state) => {
      // Without the columns later versions added (version 4: the reconnect deadlines; version 5:
      // the balance check cooldown).
      const items = state.storage.sql
        .exec('SELECT * FROM items')
        .toArray()
        .map(({ consent_expiration_time: _c, disconnect_time: _d, balances_refresh_claimed_at: _b, ...row }) => row)
      const accounts = state.storage.sql.exec('SELECT * FROM accounts').toArray()
      await state.storage.deleteAll()
      expect(schemaVersion(state.storage.sql)).toBe(0)
      migrateUserSchema(state.storage, 1)
      for (const [table, rows] of [
        ['items', items],
        ['accounts', accounts],
      ] as const) {
        for (const row of rows) {
          const columns = Object.keys(row)
          state.storage.sql.exec(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
            ...Object.values(row),
          )
        }
      }
    })
    expect(await rowsIn(user.id, "SELECT name FROM sqlite_master WHERE name LIKE 'sync_%'")).toEqual([])
    expect(await rowIn(user.id, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual({ value: '1' })
    await evict(user.id)

    const synced = await api.sync(env, user.token, itemId)
    expect(synced.status).toBe(200)
    expect(synced.body).toMatchObject({ status: 'synced' })
    expect(await rowIn(user.id, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual({ value: '8' })
    const listed = await listAll(env, user)
    expect(listed.length).toBe((await emulator.liveTransactions(env, itemId)).length)
    const items = await api.items(env, user.token)
    expect(items.body.items).toEqual([expect.objectContaining({ item_id: itemId })])
  })

  it('upgrades an object at version 2 on its first use: its transactions list as before, and syncs enrich them', async ({
    linked: { env, user, itemId },
  }) => {
    // The object as the release with schema version 2 left it: the same rows, transactions
    // without the enrichment column, Items without the reconnect deadlines (version 4) and the
    // balance check cooldown (version 5).
    await runInDurableObject(userStoreOf(user.id), async (_instance, state) => {
      const sql = state.storage.sql
      const tables = ['items', 'accounts', 'transactions'].map((table) => {
        const rows = sql.exec(`SELECT * FROM ${table}`).toArray()
        return [
          table,
          rows.map(
            ({
              enrichment: _e,
              consent_expiration_time: _c,
              disconnect_time: _d,
              balances_refresh_claimed_at: _b,
              ...row
            }) => row,
          ),
        ] as const
      })
      await state.storage.deleteAll()
      migrateUserSchema(state.storage, 2)
      for (const [table, rows] of tables) {
        for (const row of rows) {
          const columns = Object.keys(row)
          sql.exec(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
            ...Object.values(row),
          )
        }
      }
    })
    expect(await rowIn(user.id, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual({ value: '2' })
    expect(await rowIn(user.id, "SELECT sql FROM sqlite_master WHERE name = 'transactions'")).toEqual({
      sql: expect.not.stringContaining('enrichment'),
    })
    await evict(user.id)

    const listed = await listAll(env, user)
    expect(await rowIn(user.id, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual({ value: '8' })
    const live = await emulator.liveTransactions(env, itemId)
    expect(listed.map((t) => t.transaction_id).sort()).toEqual(live.map((t) => t.transaction_id).sort())
    // What version 2 kept is listed as before; what it did not keep reads as not known.
    for (const t of listed) {
      const category = t.category as { primary: string; detailed: string }
      expect(category).toEqual({ primary: expect.any(String), detailed: expect.any(String) })
      expect(t).toMatchObject({
        personal_finance_category: { ...category, confidence_level: null, version: null },
        personal_finance_category_icon_url: null,
        datetime: null,
        authorized_datetime: null,
        merchant_entity_id: null,
        logo_url: null,
        website: null,
        counterparties: [],
        location: null,
      })
    }

    // Plaid sends a transaction again when it changes: from then on it is listed enriched.
    await emulator.changeTransactions(env, itemId, { modify: 3 })
    const synced = await api.sync(env, user.token, itemId)
    expect(synced.body).toEqual({ status: 'synced', added: 0, modified: 3, removed: 0 })
    const enriched = (await listAll(env, user)).filter((t) => t.personal_finance_category_icon_url !== null)
    expect(enriched.length).toBe(3)
    for (const t of enriched) expect((t.personal_finance_category as { version: string }).version).toBe('v1')
  })
})

const indexRow = (itemId: string) =>
  (baseEnv.DB as D1Database).prepare('SELECT * FROM item_index WHERE item_id = ?').bind(itemId).first()

describe('one object per user', () => {
  it('a request reaches only the object of the user its token names', async () => {
    const env = testEnv()
    const alice = await newUser()
    const mallory = await newUser()
    const store = watchedUserStore()
    const watchedEnv = { ...env, USER_STORE: store.namespace }
    const itemId = itemIdOf(await linkItem(watchedEnv, alice))
    expect(new Set(store.named)).toEqual(new Set([alice.id]))

    store.named.length = 0
    const probes = [
      api.item(watchedEnv, mallory.token, itemId),
      api.transactions(watchedEnv, mallory.token, { query: { item_id: itemId } }),
      api.removeItem(watchedEnv, mallory.token, itemId),
    ]
    for (const res of await Promise.all(probes)) expect(res.status).toBe(404)
    expect(new Set(store.named)).toEqual(new Set([mallory.id]))
    expect(await rowsIn(mallory.id, 'SELECT item_id FROM items')).toEqual([])
    expect(await rowsIn(alice.id, 'SELECT item_id FROM items')).toEqual([{ item_id: itemId }])
  })

  it('an object refuses a call made for another user', async () => {
    const alice = await newUser()
    const mallory = await newUser()
    expect(await userStoreOf(alice.id).listItems(alice.id)).toEqual([])
    const refusal = await refusalOf(alice.id, mallory.id)
    expect(String(refusal)).toContain('called for another user')
  })

  it('an object still refuses another user after it was evicted: its owner is kept in its storage', async () => {
    const alice = await newUser()
    const mallory = await newUser()
    expect(await userStoreOf(alice.id).listItems(alice.id)).toEqual([])
    await evict(alice.id)
    const refusal = await refusalOf(alice.id, mallory.id)
    expect(String(refusal)).toContain('called for another user')
    expect(await userStoreOf(alice.id).listItems(alice.id)).toEqual([])
  })

  it('indexes each Item in D1 with its user, key id, webhook URL and last sync, and removes the entry with the Item', async ({
    linked: { env, user, itemId },
  }) => {
    const stored = await rowIn<{ access_token_key_id: string; transactions_synced_at: string }>(
      user.id,
      'SELECT access_token_key_id, transactions_synced_at FROM items WHERE item_id = ?',
      itemId,
    )
    const syncedAt = Math.floor(Date.parse(stored?.transactions_synced_at as string) / 1000)
    expect(await indexRow(itemId)).toEqual({
      item_id: itemId,
      user_id: user.id,
      access_token_key_id: stored?.access_token_key_id,
      // What the hourly cron reads (migrations/0008): the webhook URL Plaid reported at the
      // exchange, never tried since; the first sync, which just finished, puts the fallback off a day.
      webhook_url: WEBHOOK_URL,
      webhook_tried_at: null,
      synced_at: syncedAt,
      sync_due_at: syncedAt + 24 * 3600,
    })
    expect((await api.removeItem(env, user.token, itemId)).status).toBe(204)
    expect(await indexRow(itemId)).toBeNull()
  })

  it('background jobs address only objects the index names', async () => {
    const store = watchedUserStore()
    const env = testEnv({ USER_STORE: store.namespace })
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    store.named.length = 0
    queuedJobs(env).push(itemSyncJob('item-nobody-holds', 'linked', null), itemSyncJob(itemId, 'linked', null))
    await runQueue(env)
    expect(new Set(store.named)).toEqual(new Set([user.id]))
  })
})

describe('listing a large history', () => {
  /** listTransactions run inside the user's object, with the rows SQLite read for it. */
  function listCounted(userId: string, filter: Parameters<typeof listTransactions>[1]) {
    return runInDurableObject(userStoreOf(userId), (_instance, state) => {
      const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = []
      const sql = new Proxy(state.storage.sql, {
        get(target, name) {
          if (name !== 'exec') return Reflect.get(target, name)
          return (query: string, ...bindings: unknown[]) => {
            const cursor = target.exec(query, ...bindings)
            cursors.push(cursor)
            return cursor
          }
        },
      })
      const page = listTransactions(sql, filter)
      return { page, rowsRead: cursors.reduce((sum, cursor) => sum + cursor.rowsRead, 0) }
    })
  }

  it("reads about a page of rows for a page of one Item's transactions, however deep the cursor", async ({
    linked: { env, user, itemId },
  }) => {
    await linkItem(env, user, 'ins_109511')
    await emulator.changeTransactions(env, itemId, { add: 1000 })
    const synced = await api.sync(env, user.token, itemId)
    expect(synced.body).toMatchObject({ status: 'synced', added: 1000 })
    const history = (await emulator.liveTransactions(env, itemId)).length
    expect(history).toBeGreaterThan(1000)

    const first = await listCounted(user.id, { itemId, limit: 50 })
    expect(first.page.transactions).toHaveLength(50)
    expect(first.rowsRead).toBeLessThan(60)

    // Deep in the Item's history: the cursor is sought, not walked to.
    const all = await listCounted(user.id, { itemId, limit: 500 })
    expect(all.page.transactions).toHaveLength(500)
    const position = all.page.transactions[449] as { date: string; transaction_id: string }
    const last = await listCounted(user.id, {
      itemId,
      limit: 50,
      after: { date: position.date, transactionId: position.transaction_id },
    })
    expect(last.page.transactions.map((t) => t.transaction_id)).toEqual(
      all.page.transactions.slice(450, 500).map((t) => t.transaction_id),
    )
    expect(last.rowsRead).toBeLessThan(60)
  })
})
