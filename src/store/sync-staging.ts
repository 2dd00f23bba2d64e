/**
 * Syncs in bounded memory. A sync (a "run") writes each page Plaid gives it into a staging area
 * of the user's object as it arrives; when Plaid says has_more is false, the staged changes and
 * the Item's new cursor are applied in one transactionSync, and only if the cursor is still the
 * one the run started from. A run that lost that race, failed, or restarts its pagination drops
 * its staging: nothing half-applied ever reaches the transactions table.
 */
import type { AccountBase, PlaidTransaction } from '../plaid/types'
import { ENRICHED_FIELDS, fromExcluded, TRANSACTION_FIELDS } from './columns'
import { saveSeenBalances } from './items'

/** A run nobody finished within this time died with its isolate; the next run of the Item drops it. */
const ABANDONED_AFTER_MS = 15 * 60_000

const NOT_STAGED = 'sync run dropped'

export type SyncRun = { syncId: string; startCursor: string | null }

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
  /** Another sync moved the cursor first, or the Item was removed: nothing written; begin again. */
  | { status: 'lost' }

/** Starts a run from the Item's current cursor; null when the Item is not stored. */
export function beginSync(sql: SqlStorage, itemId: string, now: Date): SyncRun | null {
  const item = sql
    .exec<{ transactions_cursor: string | null }>('SELECT transactions_cursor FROM items WHERE item_id = ?', itemId)
    .toArray()[0]
  if (!item) return null
  const abandoned = sql
    .exec<{ sync_id: string }>(
      'SELECT sync_id FROM sync_runs WHERE item_id = ? AND started_at < ?',
      itemId,
      new Date(now.getTime() - ABANDONED_AFTER_MS).toISOString(),
    )
    .toArray()
  for (const { sync_id } of abandoned) dropSync(sql, sync_id)
  const syncId = crypto.randomUUID()
  sql.exec(
    'INSERT INTO sync_runs (sync_id, item_id, start_cursor, started_at) VALUES (?, ?, ?, ?)',
    syncId,
    itemId,
    item.transactions_cursor,
    now.toISOString(),
  )
  return { syncId, startCursor: item.transactions_cursor }
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
      'UPDATE sync_runs SET added = added + ?, modified = modified + ? WHERE sync_id = ? RETURNING item_id',
      page.added.length,
      page.modified.length,
      syncId,
    )
    .toArray()[0]
  // Dropped meanwhile (abandoned after too long): finishing it would apply a partial history.
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
  sql.exec('DELETE FROM sync_staging WHERE sync_id = ?', syncId)
  sql.exec('UPDATE sync_runs SET added = 0, modified = 0 WHERE sync_id = ?', syncId)
}

export function dropSync(sql: SqlStorage, syncId: string): void {
  sql.exec('DELETE FROM sync_staging WHERE sync_id = ?', syncId)
  sql.exec('DELETE FROM sync_runs WHERE sync_id = ?', syncId)
}

/**
 * Applies the run's staged changes and moves the Item's cursor to `nextCursor` (inside one
 * transactionSync), if the cursor is still where the run started; drops the run either way.
 */
export function finishSync(sql: SqlStorage, syncId: string, nextCursor: string, now: string): SyncOutcome {
  const run = sql
    .exec<{ item_id: string; start_cursor: string | null; added: number; modified: number }>(
      'SELECT item_id, start_cursor, added, modified FROM sync_runs WHERE sync_id = ?',
      syncId,
    )
    .toArray()[0]
  if (!run) throw new Error(NOT_STAGED)
  const moved = sql.exec(
    `UPDATE items SET transactions_cursor = ?, transactions_synced_at = ?
     WHERE item_id = ? AND transactions_cursor IS ?`,
    nextCursor,
    now,
    run.item_id,
    run.start_cursor,
  ).rowsWritten
  if (!moved) {
    dropSync(sql, syncId)
    return { status: 'lost' }
  }
  sql.exec(
    `INSERT INTO transactions (transaction_id, item_id, ${FIELDS}, updated_at)
     SELECT transaction_id, ?1, ${STAGED_VALUES}, ?2 FROM sync_staging WHERE sync_id = ?3 AND removed = 0
     ON CONFLICT (transaction_id) DO UPDATE SET ${fromExcluded([...TRANSACTION_FIELDS, 'updated_at'])}
     WHERE transactions.item_id = excluded.item_id`,
    run.item_id,
    now,
    syncId,
  )
  const removed = sql
    .exec<{ n: number }>('SELECT COUNT(*) AS n FROM sync_staging WHERE sync_id = ? AND removed = 1', syncId)
    .one().n
  sql.exec(
    `DELETE FROM transactions WHERE item_id = ?
       AND transaction_id IN (SELECT transaction_id FROM sync_staging WHERE sync_id = ? AND removed = 1)`,
    run.item_id,
    syncId,
  )
  dropSync(sql, syncId)
  return { status: 'applied', added: run.added, modified: run.modified, removed }
}
