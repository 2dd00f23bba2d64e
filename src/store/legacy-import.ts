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

type Row = Record<string, SqlStorageValue>

const tablesGone = (error: unknown) => String(error).includes('no such table')

/** The meta row saying the object has taken its user's rows from D1 (or found none). */
export const IMPORTED = "SELECT 1 FROM meta WHERE key = 'legacy_import'"

/** Copies the user's D1 rows into the object, then marks the object and records the move in D1. */
export async function importLegacyRows(db: D1Database, storage: DurableObjectStorage, userId: string): Promise<void> {
  const sql = storage.sql
  if (sql.exec(IMPORTED).toArray()[0]) return
  let copied = 0
  try {
    // The old tables have the object's columns plus user_id, which the object does not keep.
    copied += await copyTable(db, storage, 'items', 'item_id', userId)
    copied += await copyTable(db, storage, 'accounts', 'account_id', userId)
    copied += await copyTable(db, storage, 'public_token_exchanges', 'public_token_hash', userId)
    copied += await copyTable(db, storage, 'transactions', 'transaction_id', userId)
  } catch (error) {
    // The old tables were dropped once the move was over: nothing is left to copy.
    if (!tablesGone(error)) throw error
  }
  sql.exec("INSERT OR IGNORE INTO meta VALUES ('legacy_import', ?)", new Date().toISOString())
  if (copied > 0) await recordMove(db, userId)
}

async function copyTable(
  db: D1Database,
  storage: DurableObjectStorage,
  table: string,
  key: string,
  userId: string,
): Promise<number> {
  let after = ''
  let copied = 0
  for (;;) {
    const { results } = await db
      .prepare(`SELECT * FROM ${table} WHERE user_id = ? AND ${key} > ? ORDER BY ${key} LIMIT ?`)
      .bind(userId, after, PAGE)
      .all<Row>()
    if (results.length === 0) return copied
    const names = Object.keys(results[0] as Row).filter((name) => name !== 'user_id')
    const insert = `INSERT INTO ${table} (${names}) VALUES (${names.map(() => '?')}) ON CONFLICT DO NOTHING`
    storage.transactionSync(() => {
      for (const row of results) storage.sql.exec(insert, ...names.map((n) => row[n] ?? null))
    })
    copied += results.length
    after = String(results.at(-1)?.[key])
  }
}

/**
 * Deletes the user's rows from the old tables (a user who deleted their data): without it, their
 * emptied object would copy them in again on its next first use.
 */
export async function deleteLegacyRows(db: D1Database, userId: string): Promise<void> {
  try {
    // Children first: the old tables reference items.
    await db.batch(
      ['transactions', 'accounts', 'public_token_exchanges', 'items'].map((table) =>
        db.prepare(`DELETE FROM ${table} WHERE user_id = ?`).bind(userId),
      ),
    )
  } catch (error) {
    if (!tablesGone(error)) throw error
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
 * Whether the user still has rows in the old tables that no object of theirs has taken: their
 * object may not exist yet, and background jobs must not create it (it would be placed near the
 * queue consumer or the cron rather than near the user), so they leave such users to their return.
 */
export async function awaitsMove(db: D1Database, userId: string): Promise<boolean> {
  try {
    const row = await db
      .prepare(
        `SELECT (EXISTS (SELECT 1 FROM items WHERE user_id = ?1)
                 OR EXISTS (SELECT 1 FROM public_token_exchanges WHERE user_id = ?1))
                AND NOT EXISTS (SELECT 1 FROM storage_moves WHERE user_id = ?1) AS waiting`,
      )
      .bind(userId)
      .first<{ waiting: number }>()
    return row?.waiting === 1
  } catch (error) {
    if (tablesGone(error)) return false
    throw error
  }
}

/**
 * Users with rows in the old tables whose move is not recorded yet, for the cron to move (each by
 * one call to their object). Empty once the move is over or the old tables are gone.
 */
export async function usersLeftToMove(db: D1Database, after: string, limit: number): Promise<string[]> {
  try {
    const { results } = await db
      // Compound selects run left to right: (items UNION claims) EXCEPT moved; in user_id order
      // from `after`, where the cron's last run stopped.
      .prepare(
        `SELECT user_id FROM (SELECT user_id FROM items UNION SELECT user_id FROM public_token_exchanges
         EXCEPT SELECT user_id FROM storage_moves) WHERE user_id > ? ORDER BY user_id LIMIT ?`,
      )
      .bind(after, limit)
      .all<{ user_id: string }>()
    return results.map((r) => r.user_id)
  } catch (error) {
    if (tablesGone(error)) return []
    throw error
  }
}
