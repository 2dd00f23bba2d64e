/**
 * Syncs in bounded memory. A sync (a "run") writes each page Plaid gives it into a staging area
 * of the user's object as it arrives; when Plaid says has_more is false, the staged changes and
 * the Item's new cursor are applied in one transactionSync, and only if the cursor is still the
 * one the run started from. A run that lost that race, failed, or restarts its pagination drops
 * its staging: nothing half-applied ever reaches the transactions table.
 */
import type { PlaidTransaction } from '../plaid/types'

/** A run nobody finished within this time died with its isolate; the next run of the Item drops it. */
const ABANDONED_AFTER_MS = 15 * 60_000

export type SyncRun = { syncId: string; startCursor: string | null }

export type StagedPage = { added: PlaidTransaction[]; modified: PlaidTransaction[]; removedIds: string[] }

export type SyncOutcome =
  | { status: 'applied'; added: number; modified: number; removed: number }
  /** Another sync moved the cursor first: nothing written; start again from the new cursor. */
  | { status: 'lost' }
  /** The Item was removed meanwhile. */
  | { status: 'gone' }

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

const STAGE = `INSERT INTO sync_staging (sync_id, transaction_id, removed, account_id, amount, iso_currency_code,
    unofficial_currency_code, date, authorized_date, name, merchant_name, pending, pending_transaction_id,
    payment_channel, category_primary, category_detailed)
  VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (sync_id, transaction_id) DO UPDATE SET removed = 0, account_id = excluded.account_id,
    amount = excluded.amount, iso_currency_code = excluded.iso_currency_code,
    unofficial_currency_code = excluded.unofficial_currency_code, date = excluded.date,
    authorized_date = excluded.authorized_date, name = excluded.name, merchant_name = excluded.merchant_name,
    pending = excluded.pending, pending_transaction_id = excluded.pending_transaction_id,
    payment_channel = excluded.payment_channel, category_primary = excluded.category_primary,
    category_detailed = excluded.category_detailed`

/**
 * Adds a page to the run's staging (inside one transactionSync). Pages arrive in order, so a later
 * page's version of a transaction replaces an earlier one, and a removal replaces both.
 */
export function stagePage(sql: SqlStorage, syncId: string, page: StagedPage): void {
  const known = sql.exec(
    'UPDATE sync_runs SET added = added + ?, modified = modified + ? WHERE sync_id = ?',
    page.added.length,
    page.modified.length,
    syncId,
  ).rowsWritten
  // Dropped meanwhile (abandoned after too long): finishing it would apply a partial history.
  if (known === 0) throw new Error('sync run is no longer staged; start the sync again')
  for (const t of [...page.added, ...page.modified]) {
    sql.exec(
      STAGE,
      syncId,
      t.transaction_id,
      t.account_id,
      t.amount,
      t.iso_currency_code ?? null,
      t.unofficial_currency_code ?? null,
      t.date,
      t.authorized_date ?? null,
      t.name ?? null,
      t.merchant_name ?? null,
      t.pending ? 1 : 0,
      t.pending_transaction_id ?? null,
      t.payment_channel ?? null,
      t.personal_finance_category?.primary ?? null,
      t.personal_finance_category?.detailed ?? null,
    )
  }
  for (const id of page.removedIds) {
    sql.exec(
      `INSERT INTO sync_staging (sync_id, transaction_id, removed) VALUES (?, ?, 1)
       ON CONFLICT (sync_id, transaction_id) DO UPDATE SET removed = 1`,
      syncId,
      id,
    )
  }
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
  if (!run) throw new Error('sync run is no longer staged; start the sync again')
  const moved = sql.exec(
    `UPDATE items SET transactions_cursor = ?, transactions_synced_at = ?
     WHERE item_id = ? AND transactions_cursor IS ?`,
    nextCursor,
    now,
    run.item_id,
    run.start_cursor,
  ).rowsWritten
  if (moved === 0) {
    const exists = sql.exec('SELECT 1 FROM items WHERE item_id = ?', run.item_id).toArray().length > 0
    dropSync(sql, syncId)
    return { status: exists ? 'lost' : 'gone' }
  }
  sql.exec(
    `INSERT INTO transactions (transaction_id, item_id, account_id, amount, iso_currency_code,
       unofficial_currency_code, date, authorized_date, name, merchant_name, pending, pending_transaction_id,
       payment_channel, category_primary, category_detailed, updated_at)
     SELECT transaction_id, ?1, account_id, amount, iso_currency_code, unofficial_currency_code, date,
       authorized_date, name, merchant_name, pending, pending_transaction_id, payment_channel,
       category_primary, category_detailed, ?2
     FROM sync_staging WHERE sync_id = ?3 AND removed = 0
     ON CONFLICT (transaction_id) DO UPDATE SET
       account_id = excluded.account_id, amount = excluded.amount,
       iso_currency_code = excluded.iso_currency_code,
       unofficial_currency_code = excluded.unofficial_currency_code, date = excluded.date,
       authorized_date = excluded.authorized_date, name = excluded.name,
       merchant_name = excluded.merchant_name, pending = excluded.pending,
       pending_transaction_id = excluded.pending_transaction_id, payment_channel = excluded.payment_channel,
       category_primary = excluded.category_primary, category_detailed = excluded.category_detailed,
       updated_at = excluded.updated_at
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
