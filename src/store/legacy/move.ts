/**
 * The one-time move of a user's rows from the D1 tables of earlier releases (items, accounts,
 * transactions, public_token_exchanges) into the user's object. The object runs it on its first
 * uses, before it serves anything (legacyGate in gate.ts), and marks it done in its own storage:
 *
 * - in slices: each slice copies pages until its budget (rows or time) is spent, well inside the
 *   30 s an object may spend in blockConcurrencyWhile; a request that finds the move unfinished
 *   answers 503 with Retry-After, and the next one copies the next slice;
 * - resumable: each page is stored with the last key it copied, in one transactionSync, so a slice
 *   cut short (a reset, an eviction) loses at most the page it was reading, and the next slice
 *   reads on from that key, never from the first row;
 * - idempotent: a row already in the object is left as it is (ON CONFLICT DO NOTHING), so copying
 *   a page twice gives what copying it once gives.
 *
 * The D1 record of the move (storage_moves) is written before the object's mark: a user whose
 * object is marked is always recorded, so background jobs never wait for a move that is over.
 */
/** How much one slice of the move may do. */
export type MoveSlice = {
  /** Rows per D1 read: bounds memory whatever the user's history. */
  pageRows: number
  /** Rows a slice copies at most before it stops, at a page's end. */
  maxRows: number
  /** Milliseconds after which a slice starts no new page. */
  maxMs: number
}

/**
 * A slice of at most 5 s or 50,000 rows: a 200,000-transaction user moves in about four slices, each
 * far from the 30 s blockConcurrencyWhile allows even with D1 on another continent.
 */
export const DEFAULT_MOVE_SLICE: MoveSlice = { pageRows: 1000, maxRows: 50_000, maxMs: 5_000 }

/** The old tables in copy order (parents first), each with the key its pages follow. */
const TABLES = [
  ['items', 'item_id'],
  ['accounts', 'account_id'],
  ['public_token_exchanges', 'public_token_hash'],
  ['transactions', 'transaction_id'],
] as const

type Row = Record<string, SqlStorageValue>

/** The error D1 gives once the operator has dropped the old tables (README.md here). */
export const tablesGone = (error: unknown) => String(error).includes('no such table')

/** The meta row saying the object has taken its user's rows from D1 (or found none). */
export const IMPORTED = "SELECT 1 FROM meta WHERE key = 'legacy_import'"
const STARTED = 'legacy_import_started'
/** Meta rows `legacy_import_after:<table>`: the last key of that table copied so far. */
const AFTER = 'legacy_import_after:'

/**
 * What a call answers while its user's rows are still being moved in. The object throws it; across
 * RPC only the message survives, so the Worker recognises it by that (isMoveInProgress).
 */
export const MOVE_IN_PROGRESS = 'your data is being moved to its new storage; try again in a few seconds'

export class MoveInProgressError extends Error {
  override name = 'MoveInProgressError'
  constructor() {
    super(MOVE_IN_PROGRESS)
  }
}

export const isMoveInProgress = (error: unknown) => error instanceof Error && error.message.includes(MOVE_IN_PROGRESS)

const metaValue = (sql: SqlStorage, key: string) =>
  sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0]?.value

/**
 * Copies the next slice of the user's D1 rows into the object. Answers true once the move is over
 * (recorded in D1, then marked here), false when the slice's budget ran out first.
 */
export async function moveSlice(
  db: D1Database,
  storage: DurableObjectStorage,
  userId: string,
  slice: MoveSlice = DEFAULT_MOVE_SLICE,
): Promise<boolean> {
  const sql = storage.sql
  if (sql.exec(IMPORTED).toArray()[0]) return true
  const deadline = Date.now() + slice.maxMs
  let started = metaValue(sql, STARTED)
  if (started === undefined) {
    started = new Date().toISOString()
    sql.exec('INSERT INTO meta VALUES (?, ?)', STARTED, started)
  }
  let copied = 0
  try {
    for (const [table, key] of TABLES) {
      for (;;) {
        if (copied >= slice.maxRows || Date.now() >= deadline) return false
        // The old tables have the object's columns plus user_id, which the object does not keep.
        const after = metaValue(sql, AFTER + table) ?? ''
        const rows = await readPage(db, table, key, 'user_id = ?', [userId], after, slice.pageRows)
        if (rows.length === 0) break
        // Indexed before stored, as the exchange does: Items the earlier release linked after
        // migration 0007 filled the index have no row there yet, and webhooks would not find them.
        if (table === 'items') await indexItems(db, userId, rows)
        storage.transactionSync(() => {
          storeRows(sql, table, rows)
          sql.exec('INSERT OR REPLACE INTO meta VALUES (?, ?)', AFTER + table, String(rows.at(-1)?.[key]))
        })
        copied += rows.length
      }
    }
  } catch (error) {
    // The old tables were dropped once the move was over: nothing is left to copy.
    if (!tablesGone(error)) throw error
  }
  const copiedAny = sql.exec('SELECT 1 FROM meta WHERE key LIKE ?', `${AFTER}%`).toArray()[0]
  // D1 first: were the object marked first and this write then failed, no later use would write
  // it, and the user's webhooks would wait for a move that is over, for good.
  if (copiedAny) await recordMove(db, userId, started)
  storage.transactionSync(() => {
    sql.exec("INSERT OR IGNORE INTO meta VALUES ('legacy_import', ?)", new Date().toISOString())
    sql.exec('DELETE FROM meta WHERE key = ? OR key LIKE ?', STARTED, `${AFTER}%`)
  })
  return true
}

/** One page of a table's rows matching `where`, by key after `after` (keyset: one index seek). */
async function readPage(
  db: D1Database,
  table: string,
  key: string,
  where: string,
  params: string[],
  after: string,
  limit: number,
): Promise<Row[]> {
  const { results } = await db
    .prepare(`SELECT * FROM ${table} WHERE ${where} AND ${key} > ? ORDER BY ${key} LIMIT ?`)
    .bind(...params, after, limit)
    .all<Row>()
  return results
}

function storeRows(sql: SqlStorage, table: string, rows: Row[]): void {
  const names = Object.keys(rows[0] as Row).filter((name) => name !== 'user_id')
  const insert = `INSERT INTO ${table} (${names}) VALUES (${names.map(() => '?')}) ON CONFLICT DO NOTHING`
  for (const row of rows) sql.exec(insert, ...names.map((n) => row[n] ?? null))
}

async function indexItems(db: D1Database, userId: string, items: Row[]): Promise<void> {
  // A row already there stays (sync_due_at 0 otherwise: the cron's fallback sync runs at its next run).
  const insert = db.prepare(
    'INSERT INTO item_index (item_id, user_id, access_token_key_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  )
  await db.batch(items.map((item) => insert.bind(item.item_id, userId, item.access_token_key_id)))
}

/** What became of one Item of the old tables that the reconciliation handed to its user's object. */
export type LegacyItemOutcome = 'present' | 'copied' | 'skipped'

/**
 * Reconciles one Item of the old tables with the user's object, whose move is over: an Item the
 * object has is indexed; one it lacks is copied in (with its accounts and transactions) if
 * `copyIfMissing`, i.e. the earlier release wrote it after the object began copying, and else
 * left out (the user removed it since).
 */
export async function reconcileLegacyItem(
  db: D1Database,
  storage: DurableObjectStorage,
  userId: string,
  itemId: string,
  copyIfMissing: boolean,
  pageRows = DEFAULT_MOVE_SLICE.pageRows,
): Promise<LegacyItemOutcome> {
  const sql = storage.sql
  const held = sql
    .exec<{ access_token_key_id: string }>('SELECT access_token_key_id FROM items WHERE item_id = ?', itemId)
    .toArray()[0]
  if (held) {
    await indexItems(db, userId, [{ item_id: itemId, access_token_key_id: held.access_token_key_id }])
    return 'present'
  }
  if (!copyIfMissing) return 'skipped'
  const items = await readPage(db, 'items', 'item_id', 'user_id = ? AND item_id = ?', [userId, itemId], '', 1)
  if (items.length === 0) return 'skipped'
  await indexItems(db, userId, items)
  // The Item goes in last, in one transaction with its last page: a copy cut short leaves no Item
  // half there, and the next run copies the rest (ON CONFLICT DO NOTHING) before it.
  for (const [table, key] of [
    ['accounts', 'account_id'],
    ['transactions', 'transaction_id'],
  ] as const) {
    let after = ''
    for (;;) {
      const rows = await readPage(db, table, key, 'user_id = ? AND item_id = ?', [userId, itemId], after, pageRows)
      if (rows.length === 0) break
      storage.transactionSync(() => storeRows(sql, table, rows))
      after = String(rows.at(-1)?.[key])
    }
  }
  storeRows(sql, 'items', items)
  return 'copied'
}

/** Deletes one Item's rows from the old tables, once its user's object holds what it needs of them. */
export async function deleteLegacyItem(db: D1Database, userId: string, itemId: string): Promise<void> {
  try {
    await db.batch(
      ['transactions', 'accounts', 'items'].map((table) =>
        db.prepare(`DELETE FROM ${table} WHERE user_id = ? AND item_id = ?`).bind(userId, itemId),
      ),
    )
  } catch (error) {
    if (!tablesGone(error)) throw error
  }
}

/**
 * Items of the old tables the hourly cron reconciles with their users' objects, for users whose
 * move is recorded: those the index lacks, and those written after the user's object began copying
 * (the earlier release, still serving during a rollout, may have linked them after the copy read
 * `items`). `recent` says which may be copied in. Ten minutes of margin: the earlier release dated
 * an Item before its Plaid calls, seconds before it wrote it.
 */
export async function legacyItemsToReconcile(
  db: D1Database,
  limit: number,
): Promise<Array<{ user_id: string; item_id: string; recent: number }>> {
  try {
    const { results } = await db
      .prepare(
        `SELECT i.user_id, i.item_id,
                i.created_at > strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE(m.copy_started_at, m.moved_at), '-10 minutes') AS recent
         FROM items i JOIN storage_moves m ON m.user_id = i.user_id
         WHERE recent OR NOT EXISTS (SELECT 1 FROM item_index x WHERE x.item_id = i.item_id)
         ORDER BY i.item_id LIMIT ?`,
      )
      .bind(limit)
      .all<{ user_id: string; item_id: string; recent: number }>()
    return results
  } catch (error) {
    if (tablesGone(error)) return []
    throw error
  }
}

/**
 * Indexes the Items of users not moved yet that the index lacks (linked by the earlier release
 * after migration 0007), so the re-seal and the operator's queries count them; their webhooks
 * still wait for the move (awaitsMove). Answers how many it indexed.
 */
export async function indexUnmovedLegacyItems(db: D1Database): Promise<number> {
  try {
    const { meta } = await db
      .prepare(
        `INSERT INTO item_index (item_id, user_id, access_token_key_id)
         SELECT item_id, user_id, access_token_key_id FROM items
         WHERE user_id NOT IN (SELECT user_id FROM storage_moves)
         ON CONFLICT (item_id) DO NOTHING`,
      )
      .run()
    return meta.changes ?? 0
  } catch (error) {
    if (tablesGone(error)) return 0
    throw error
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
export async function recordMove(db: D1Database, userId: string, copyStartedAt: string | null = null): Promise<void> {
  await db
    .prepare(
      'INSERT INTO storage_moves (user_id, moved_at, copy_started_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING',
    )
    .bind(userId, new Date().toISOString(), copyStartedAt)
    .run()
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
