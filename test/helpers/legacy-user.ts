/**
 * Users as an earlier release left them: their rows only in the D1 tables of migrations 0001-0005,
 * and no object yet. Shared by the tests of the move into objects and of deleting a user.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import { expect } from 'vitest'
import { api } from './api'
import { emulator } from './emulator'
import type { TestEnv } from './env'
import { exchange, itemIdOf, newUser, settleFirstSync, type User } from './linking'
import { listAll } from './transactions'
import { evict, rowsIn, userStoreOf } from './user-store'

const db = () => baseEnv.DB as D1Database
export const LEGACY_TABLES = ['items', 'accounts', 'public_token_exchanges', 'transactions'] as const

/** Everything the API shows the user. */
export async function apiView(env: TestEnv, user: User) {
  return {
    items: (await api.items(env, user.token)).body,
    accounts: (await api.accounts(env, user.token)).body,
    transactions: await listAll(env, user),
  }
}

/**
 * A user as an earlier release left them: their rows only in the D1 tables of migrations
 * 0001-0005 (with user_id, as those tables have it), and no object yet. Made by linking through
 * the front door, then moving the object's rows into D1 and emptying the object.
 */
export async function userOnlyInD1(env: TestEnv) {
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
  for (const table of LEGACY_TABLES) {
    // The old tables have none of the columns later object versions added: only theirs are kept.
    const { results } = await db().prepare(`SELECT name FROM pragma_table_info('${table}')`).all<{ name: string }>()
    const legacyColumns = new Set(results.map((c) => c.name))
    rows[table] = (await rowsIn(user.id, `SELECT * FROM ${table}`)).map((row) =>
      Object.fromEntries(Object.entries(row).filter(([column]) => legacyColumns.has(column))),
    )
    for (const row of rows[table] ?? []) await insertLegacyRow(table, { ...row, user_id: user.id })
  }
  await runInDurableObject(userStoreOf(user.id), (_instance, state) => state.storage.deleteAll())
  await evict(user.id)
  return { user, publicToken, itemId: itemIdOf(linked), before, rows }
}

/** One row into an old D1 table, as an earlier release wrote it. */
export async function insertLegacyRow(table: string, values: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(values)
  await db()
    .prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
    .bind(...Object.values(values))
    .run()
}
