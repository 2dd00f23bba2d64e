/**
 * Syncs in bounded memory and bounded writes. A sync (a "run") writes each page Plaid gives it into
 * a staging area of the user's object as it arrives; when Plaid says has_more is false, the run's
 * apply begins, if the Item's cursor is still the one the run started from and no other run of the
 * Item is applying. The apply writes the staged changes in parts of at most DEFAULT_APPLY_ROWS
 * rows, each part one call and one transaction, and the Item's cursor moves with the last part.
 *
 * A run that lost the race, failed while paging, or restarts its pagination drops its staging.
 * A run whose apply has begun is never dropped: its staging is Plaid's complete answer from its
 * start cursor and part of it may be in the transactions table, so whoever syncs the Item next
 * finishes it from that staging before anything else. Syncing again from the old cursor instead
 * might not undo the parts applied: Plaid answers with the net changes since a cursor, and its
 * docs do not promise that a transaction added and then removed after it is listed at all (the
 * emulator lists it as removed); if it is not, a row a part wrote would stay.
 */
import type { AccountBase, PlaidTransaction } from '../plaid/types'
import { ENRICHED_FIELDS, fromExcluded, TRANSACTION_FIELDS } from './columns'
import { saveSeenBalances } from './items'

/** A run nobody finished within this time died with its isolate; the next run of the Item drops it. */
const ABANDONED_AFTER_MS = 15 * 60_000
/**
 * Staged rows one part of an apply writes at most: about 5 MB of transactions (the emulator's are
 * about 1 KB each as staged), well inside one call's CPU and one write's size whatever the history.
 */
export const DEFAULT_APPLY_ROWS = 5_000

const NOT_STAGED = 'sync run dropped'

export type SyncRun = {
  syncId: string
  startCursor: string | null
  /** A run whose apply began and is not finished: the caller finishes it (applyPart) and begins again. */
  applying: boolean
}

export type StagedPage = {
  added: PlaidTransaction[]
  modified: PlaidTransaction[]
  removedIds: string[]
  /** The page's accounts with their balances, and when the page arrived. */
  accounts: AccountBase[]
  seenAt: string
}

export type SyncOutcome =
  | { status: 'applied'; added: number; modified: number; removed: number }
  /** Part of the staging is applied and the rest is not; the cursor has not moved yet. */
  | { status: 'applying' }
  /**
   * Another sync moved the cursor first or is applying, or the Item was removed: nothing written;
   * begin again. From applyPart: the run is gone (another sync finished it, or its Item went).
   */
  | { status: 'lost' }

/**
 * Starts a run from the Item's current cursor; null when the Item is not stored. If a run of the
 * Item is applying, answers that run instead (applying: true), for the caller to finish first.
 */
export function beginSync(sql: SqlStorage, itemId: string, now: Date): SyncRun | null {
  const item = sql
    .exec<{ transactions_cursor: string | null }>('SELECT transactions_cursor FROM items WHERE item_id = ?', itemId)
    .toArray()[0]
  if (!item) return null
  // However old, a run that began its apply is finished, not dropped (above).
  const abandoned = sql
    .exec<{ sync_id: string }>(
      'SELECT sync_id FROM sync_runs WHERE item_id = ? AND started_at < ? AND next_cursor IS NULL',
      itemId,
      new Date(now.getTime() - ABANDONED_AFTER_MS).toISOString(),
    )
    .toArray()
  for (const { sync_id } of abandoned) dropSync(sql, sync_id)
  const applying = sql
    .exec<{ sync_id: string; start_cursor: string | null }>(
      'SELECT sync_id, start_cursor FROM sync_runs WHERE item_id = ? AND next_cursor IS NOT NULL',
      itemId,
    )
    .toArray()[0]
  if (applying) return { syncId: applying.sync_id, startCursor: applying.start_cursor, applying: true }
  const syncId = crypto.randomUUID()
  sql.exec(
    'INSERT INTO sync_runs (sync_id, item_id, start_cursor, started_at) VALUES (?, ?, ?, ?)',
    syncId,
    itemId,
    item.transactions_cursor,
    now.toISOString(),
  )
  return { syncId, startCursor: item.transactions_cursor, applying: false }
}

const FIELDS = TRANSACTION_FIELDS.join(', ')
/**
 * Each column's value in a staged transaction, as Plaid sent it: the category pair is nested, and
 * the enrichment is a JSON object of its fields (`->` keeps arrays and objects as JSON in it).
 */
const stagedValue = (column: string) => {
  if (column === 'enrichment') return `json_object(${ENRICHED_FIELDS.map((f) => `'${f}', data -> '$.${f}'`)})`
  if (column.startsWith('category_')) return `data ->> '$.personal_finance_category.${column.slice(9)}'`
  return `data ->> '${column}'`
}
const STAGED_VALUES = TRANSACTION_FIELDS.map(stagedValue).join(', ')

/**
 * Adds a page to the run's staging (inside one transactionSync). Pages arrive in order, so a later
 * page's version of a transaction replaces an earlier one, and a removal replaces both.
 */
export function stagePage(sql: SqlStorage, syncId: string, page: StagedPage): void {
  const run = sql
    .exec<{ item_id: string }>(
      `UPDATE sync_runs SET added = added + ?, modified = modified + ?
       WHERE sync_id = ? AND next_cursor IS NULL RETURNING item_id`,
      page.added.length,
      page.modified.length,
      syncId,
    )
    .toArray()[0]
  // Dropped meanwhile (abandoned after too long): finishing it would apply a partial history. Or
  // applying: its staging is complete, and the apply finishes it as it is.
  if (!run) throw new Error(NOT_STAGED)
  // Balances are a reading of their own, not part of the history the cursor applies: stored now.
  saveSeenBalances(sql, run.item_id, page.accounts, page.seenAt)
  // One statement per page; within it rows go in order, so modified follows added.
  sql.exec(
    `INSERT INTO sync_staging (sync_id, transaction_id, removed, data)
     SELECT ?1, value ->> 'transaction_id', 0, value FROM json_each(?2) WHERE true
     ON CONFLICT (sync_id, transaction_id) DO UPDATE SET removed = 0, data = excluded.data`,
    syncId,
    JSON.stringify([...page.added, ...page.modified]),
  )
  sql.exec(
    `INSERT INTO sync_staging (sync_id, transaction_id, removed) SELECT ?1, value, 1 FROM json_each(?2) WHERE true
     ON CONFLICT (sync_id, transaction_id) DO UPDATE SET removed = 1, data = NULL`,
    syncId,
    JSON.stringify(page.removedIds),
  )
}

/** Forgets what the run staged, keeping the run and its starting cursor (a pagination restart). */
export function resetSync(sql: SqlStorage, syncId: string): void {
  if (isApplying(sql, syncId)) throw new Error(NOT_STAGED)
  sql.exec('DELETE FROM sync_staging WHERE sync_id = ?', syncId)
  sql.exec('UPDATE sync_runs SET added = 0, modified = 0 WHERE sync_id = ?', syncId)
}

/**
 * Drops a run its sync gave up (Plaid failed, no data yet), unless its apply has begun: part of
 * it may be written, so it is kept for the Item's next sync to finish.
 */
export function abandonSync(sql: SqlStorage, syncId: string): void {
  if (!isApplying(sql, syncId)) dropSync(sql, syncId)
}

const isApplying = (sql: SqlStorage, syncId: string) =>
  sql.exec('SELECT 1 FROM sync_runs WHERE sync_id = ? AND next_cursor IS NOT NULL', syncId).toArray().length > 0

export function dropSync(sql: SqlStorage, syncId: string): void {
  sql.exec('DELETE FROM sync_staging WHERE sync_id = ?', syncId)
  sql.exec('DELETE FROM sync_runs WHERE sync_id = ?', syncId)
}

/**
 * Begins the apply of a run whose staging is complete, to end at `nextCursor`, if the Item's
 * cursor is still where the run started and no other run of the Item is applying (that one will
 * move the cursor); otherwise drops the run and answers false. True for a run already applying.
 */
export function beginApply(sql: SqlStorage, syncId: string, nextCursor: string): boolean {
  const run = sql
    .exec<{ item_id: string; start_cursor: string | null; next_cursor: string | null }>(
      'SELECT item_id, start_cursor, next_cursor FROM sync_runs WHERE sync_id = ?',
      syncId,
    )
    .toArray()[0]
  if (!run) throw new Error(NOT_STAGED)
  if (run.next_cursor !== null) return true
  const current = sql
    .exec<{ transactions_cursor: string | null }>(
      'SELECT transactions_cursor FROM items WHERE item_id = ?',
      run.item_id,
    )
    .toArray()[0]
  const otherApplying = sql
    .exec('SELECT 1 FROM sync_runs WHERE item_id = ? AND next_cursor IS NOT NULL LIMIT 1', run.item_id)
    .toArray()[0]
  if (!current || current.transactions_cursor !== run.start_cursor || otherApplying) {
    dropSync(sql, syncId)
    return false
  }
  sql.exec('UPDATE sync_runs SET next_cursor = ? WHERE sync_id = ?', nextCursor, syncId)
  return true
}

/**
 * Applies the next `maxRows` staged rows of an applying run (inside one transactionSync), in
 * transaction id order, and deletes them from the staging, so a part applied is never applied
 * again and a part that failed is applied by the next call. The part that empties the staging
 * moves the Item's cursor and drops the run.
 */
export function applyPart(sql: SqlStorage, syncId: string, now: string, maxRows: number): SyncOutcome {
  const run = sql
    .exec<{
      item_id: string
      start_cursor: string | null
      next_cursor: string
      added: number
      modified: number
      removed: number
    }>(
      `SELECT item_id, start_cursor, next_cursor, added, modified, removed FROM sync_runs
       WHERE sync_id = ? AND next_cursor IS NOT NULL`,
      syncId,
    )
    .toArray()[0]
  if (!run) return { status: 'lost' }
  // The part's last row; none when the rest of the staging fits in this part.
  const last = sql
    .exec<{ transaction_id: string }>(
      'SELECT transaction_id FROM sync_staging WHERE sync_id = ? ORDER BY transaction_id LIMIT 1 OFFSET ?',
      syncId,
      Math.max(1, Math.floor(maxRows)) - 1,
    )
    .toArray()[0]
  // A range of the staging's primary key, so each part reads only its own rows.
  const part = last
    ? { where: 'sync_id = ? AND transaction_id <= ?', params: [syncId, last.transaction_id] }
    : { where: 'sync_id = ?', params: [syncId] }
  sql.exec(
    `INSERT INTO transactions (transaction_id, item_id, ${FIELDS}, updated_at)
     SELECT transaction_id, ?, ${STAGED_VALUES}, ? FROM sync_staging WHERE ${part.where} AND removed = 0
     ON CONFLICT (transaction_id) DO UPDATE SET ${fromExcluded([...TRANSACTION_FIELDS, 'updated_at'])}
     WHERE transactions.item_id = excluded.item_id`,
    run.item_id,
    now,
    ...part.params,
  )
  const removed = sql
    .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM sync_staging WHERE ${part.where} AND removed = 1`, ...part.params)
    .one().n
  sql.exec(
    `DELETE FROM transactions WHERE item_id = ?
       AND transaction_id IN (SELECT transaction_id FROM sync_staging WHERE ${part.where} AND removed = 1)`,
    run.item_id,
    ...part.params,
  )
  sql.exec(`DELETE FROM sync_staging WHERE ${part.where}`, ...part.params)
  const more = last && sql.exec('SELECT 1 FROM sync_staging WHERE sync_id = ? LIMIT 1', syncId).toArray().length > 0
  if (more) {
    sql.exec('UPDATE sync_runs SET removed = removed + ? WHERE sync_id = ?', removed, syncId)
    return { status: 'applying' }
  }
  // beginApply let no other run move the cursor since; the check only guards against that changing.
  const moved = sql.exec(
    `UPDATE items SET transactions_cursor = ?, transactions_synced_at = ?
     WHERE item_id = ? AND transactions_cursor IS ?`,
    run.next_cursor,
    now,
    run.item_id,
    run.start_cursor,
  ).rowsWritten
  dropSync(sql, syncId)
  if (!moved) return { status: 'lost' }
  return { status: 'applied', added: run.added, modified: run.modified, removed: run.removed + removed }
}
