/**
 * Transactions in the user's object. A sync's changes and the Item's new cursor are written in
 * one transactionSync that only applies if the cursor is still the one the sync started from: a
 * concurrent sync that got there first makes this one a no-op instead of letting it write stale
 * data or bring back a transaction the other removed.
 */
import type { PlaidTransaction } from '../plaid/types'

/** A stored transaction as the API lists it: Plaid's fields, its Item, and the category pair. */
export type Transaction = Omit<PlaidTransaction, 'personal_finance_category'> & {
  item_id: string
  category: { primary: string; detailed: string } | null
}

type Row = Omit<Transaction, 'pending' | 'category'> & {
  pending: number
  category_primary: string | null
  category_detailed: string | null
}

export type SyncWrite = {
  itemId: string
  startCursor: string | null
  nextCursor: string
  upserts: PlaidTransaction[]
  removedIds: string[]
  now: string
}

/** Applies a sync (inside one transactionSync); false when another sync moved the cursor first. */
export function applySync(sql: SqlStorage, write: SyncWrite): boolean {
  const { itemId, startCursor, nextCursor, now } = write
  const moved = sql.exec(
    `UPDATE items SET transactions_cursor = ?, transactions_synced_at = ?
     WHERE item_id = ? AND transactions_cursor IS ?`,
    nextCursor,
    now,
    itemId,
    startCursor,
  ).rowsWritten
  if (moved === 0) return false
  for (const t of write.upserts) {
    sql.exec(
      `INSERT INTO transactions (transaction_id, item_id, account_id, amount, iso_currency_code,
         unofficial_currency_code, date, authorized_date, name, merchant_name, pending, pending_transaction_id,
         payment_channel, category_primary, category_detailed, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
      ...transactionValues(itemId, t, now),
    )
  }
  for (const id of write.removedIds) {
    sql.exec('DELETE FROM transactions WHERE item_id = ? AND transaction_id = ?', itemId, id)
  }
  return true
}

/** The column values of a Plaid transaction, in the order of the tables' columns. */
export function transactionValues(itemId: string, t: PlaidTransaction, now: string) {
  return [
    t.transaction_id,
    itemId,
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
    now,
  ]
}

export type TransactionFilter = {
  itemId?: string
  accountId?: string
  startDate?: string
  endDate?: string
  /** Keyset position: the last (date, transaction_id) of the previous page. */
  after?: { date: string; transactionId: string }
  limit: number
}

/** The user's transactions newest first; one more row than `limit` tells whether a page follows. */
export function listTransactions(
  sql: SqlStorage,
  filter: TransactionFilter,
): { transactions: Transaction[]; more: boolean } {
  const where = ['1 = 1']
  const params: (string | number)[] = []
  const add = (clause: string, ...values: string[]) => {
    where.push(clause)
    params.push(...values)
  }
  if (filter.itemId) add('item_id = ?', filter.itemId)
  if (filter.accountId) add('account_id = ?', filter.accountId)
  if (filter.startDate) add('date >= ?', filter.startDate)
  if (filter.endDate) add('date <= ?', filter.endDate)
  if (filter.after) {
    const { date, transactionId } = filter.after
    add('(date < ? OR (date = ? AND transaction_id < ?))', date, date, transactionId)
  }
  const rows = sql
    .exec<Row>(
      `SELECT * FROM transactions WHERE ${where.join(' AND ')}
       ORDER BY date DESC, transaction_id DESC LIMIT ?`,
      ...params,
      filter.limit + 1,
    )
    .toArray()
  return { transactions: rows.slice(0, filter.limit).map(toTransaction), more: rows.length > filter.limit }
}

function toTransaction(row: Row): Transaction {
  return {
    transaction_id: row.transaction_id,
    item_id: row.item_id,
    account_id: row.account_id,
    amount: row.amount,
    iso_currency_code: row.iso_currency_code,
    unofficial_currency_code: row.unofficial_currency_code,
    date: row.date,
    authorized_date: row.authorized_date,
    name: row.name,
    merchant_name: row.merchant_name,
    pending: row.pending === 1,
    pending_transaction_id: row.pending_transaction_id,
    payment_channel: row.payment_channel,
    category:
      row.category_primary && row.category_detailed
        ? { primary: row.category_primary, detailed: row.category_detailed }
        : null,
  }
}
