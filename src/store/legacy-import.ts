/**
 * The one-time move of a user's rows from the D1 tables of earlier releases (items, accounts,
 * transactions, public_token_exchanges) into the user's object. The object runs it on its first
 * use, before it serves anything (user-store.ts), and marks it done in its own storage, so it runs
 * to completion once per user however often it is interrupted:
 *
 * - resumable: rows are copied in pages, each page in one transactionSync; a copy cut short
 *   leaves the mark unset, and the next instance copies again before serving;
 * - idempotent: a row already in the object is left as it is (ON CONFLICT DO NOTHING), and the
 *   D1 rows no longer change (no release writes them since the move), so copying twice gives
 *   what copying once gives.
 */

/** Rows per D1 read: bounds memory whatever the user's history. */
const PAGE = 1000

const ITEM_COLUMNS = `item_id, institution_id, institution_name, status, error_code, access_token_sealed,
  access_token_key_id, new_accounts_available, status_webhook_signed_at, transactions_cursor,
  transactions_synced_at, created_at, updated_at`
const ACCOUNT_COLUMNS = `account_id, item_id, name, official_name, mask, type, subtype, balance_available,
  balance_current, balance_limit, iso_currency_code, unofficial_currency_code, balances_updated_at`
const TRANSACTION_COLUMNS = `transaction_id, item_id, account_id, amount, iso_currency_code, unofficial_currency_code,
  date, authorized_date, name, merchant_name, pending, pending_transaction_id, payment_channel, category_primary,
  category_detailed, updated_at`
const CLAIM_COLUMNS = 'public_token_hash, item_id, claimed_at'

type Row = Record<string, SqlStorageValue>

/** Whether the object has already taken its user's rows from D1 (or found none). */
export function legacyImported(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM meta WHERE key = 'legacy_import'").toArray().length > 0
}

/** Copies the user's D1 rows into the object, then marks the object and records the move in D1. */
export async function importLegacyRows(db: D1Database, storage: DurableObjectStorage, userId: string): Promise<void> {
  const sql = storage.sql
  if (legacyImported(sql)) return
  let copied = 0
  try {
    copied += await copyTable(db, storage, 'items', ITEM_COLUMNS, 'item_id', userId)
    copied += await copyTable(db, storage, 'accounts', ACCOUNT_COLUMNS, 'account_id', userId)
    copied += await copyTable(db, storage, 'public_token_exchanges', CLAIM_COLUMNS, 'public_token_hash', userId)
    copied += await copyTable(db, storage, 'transactions', TRANSACTION_COLUMNS, 'transaction_id', userId)
  } catch (error) {
    // The old tables were dropped once the move was over: nothing is left to copy.
    if (!(error instanceof Error && error.message.includes('no such table'))) throw error
  }
  sql.exec(
    "INSERT INTO meta (key, value) VALUES ('legacy_import', ?) ON CONFLICT (key) DO NOTHING",
    new Date().toISOString(),
  )
  if (copied > 0) await recordMove(db, userId)
}

async function copyTable(
  db: D1Database,
  storage: DurableObjectStorage,
  table: string,
  columns: string,
  key: string,
  userId: string,
): Promise<number> {
  let after = ''
  let copied = 0
  for (;;) {
    const { results } = await db
      .prepare(`SELECT ${columns} FROM ${table} WHERE user_id = ? AND ${key} > ? ORDER BY ${key} LIMIT ?`)
      .bind(userId, after, PAGE)
      .all<Row>()
    if (results.length === 0) return copied
    const names = columns.split(',').map((c) => c.trim())
    const insert = `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})
      ON CONFLICT DO NOTHING`
    storage.transactionSync(() => {
      for (const row of results) storage.sql.exec(insert, ...names.map((n) => row[n] ?? null))
    })
    copied += results.length
    after = String(results.at(-1)?.[key])
  }
}

/** Records in D1 that the user's rows are in their object (the operator's view of progress). */
export async function recordMove(db: D1Database, userId: string): Promise<void> {
  await db
    .prepare('INSERT INTO storage_moves (user_id, moved_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING')
    .bind(userId, new Date().toISOString())
    .run()
}

/**
 * Users with rows in the old tables whose move is not recorded yet, for the cron to move (each by
 * one call to their object). Empty once the move is over or the old tables are gone.
 */
export async function usersLeftToMove(db: D1Database, limit: number): Promise<string[]> {
  try {
    const { results } = await db
      .prepare(
        `SELECT user_id FROM (SELECT user_id FROM items UNION SELECT user_id FROM public_token_exchanges)
         WHERE user_id NOT IN (SELECT user_id FROM storage_moves) ORDER BY user_id LIMIT ?`,
      )
      .bind(limit)
      .all<{ user_id: string }>()
    return results.map((r) => r.user_id)
  } catch (error) {
    if (error instanceof Error && error.message.includes('no such table')) return []
    throw error
  }
}
