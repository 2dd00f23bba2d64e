/**
 * D1 access for transactions. A sync's changes and the Item's new cursor are written in one
 * batch (one transaction) that only applies if the cursor is still the one the sync started
 * from: a concurrent sync that got there first makes this one a no-op instead of letting it
 * write stale data or bring back a transaction the other removed.
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

// Rows travel as one JSON parameter per chunk (D1 caps bound parameters per statement at 100).
const CHUNK = 200

const GUARD = '(SELECT transactions_cursor FROM items WHERE user_id = ? AND item_id = ?) IS ?'

export type SyncWrite = {
  userId: string
  itemId: string
  startCursor: string | null
  nextCursor: string
  upserts: PlaidTransaction[]
  removedIds: string[]
  now: string
}

/** Applies a sync atomically; false when another sync moved the cursor first (nothing written). */
export async function applySync(db: D1Database, write: SyncWrite): Promise<boolean> {
  const { userId, itemId, startCursor, nextCursor, now } = write
  const statements: D1PreparedStatement[] = []
  for (let i = 0; i < write.upserts.length; i += CHUNK) {
    const rows = write.upserts.slice(i, i + CHUNK).map((t) => ({
      ...t,
      pending: t.pending ? 1 : 0,
      category_primary: t.personal_finance_category?.primary ?? null,
      category_detailed: t.personal_finance_category?.detailed ?? null,
    }))
    statements.push(
      db
        .prepare(
          `INSERT INTO transactions (transaction_id, item_id, user_id, account_id, amount, iso_currency_code,
             unofficial_currency_code, date, authorized_date, name, merchant_name, pending, pending_transaction_id,
             payment_channel, category_primary, category_detailed, updated_at)
           SELECT j.value ->> 'transaction_id', ?, ?, j.value ->> 'account_id', j.value ->> 'amount',
             j.value ->> 'iso_currency_code', j.value ->> 'unofficial_currency_code', j.value ->> 'date',
             j.value ->> 'authorized_date', j.value ->> 'name', j.value ->> 'merchant_name', j.value ->> 'pending',
             j.value ->> 'pending_transaction_id', j.value ->> 'payment_channel', j.value ->> 'category_primary',
             j.value ->> 'category_detailed', ?
           FROM json_each(?) AS j WHERE ${GUARD}
           ON CONFLICT (transaction_id) DO UPDATE SET
             account_id = excluded.account_id, amount = excluded.amount,
             iso_currency_code = excluded.iso_currency_code,
             unofficial_currency_code = excluded.unofficial_currency_code, date = excluded.date,
             authorized_date = excluded.authorized_date, name = excluded.name,
             merchant_name = excluded.merchant_name, pending = excluded.pending,
             pending_transaction_id = excluded.pending_transaction_id, payment_channel = excluded.payment_channel,
             category_primary = excluded.category_primary, category_detailed = excluded.category_detailed,
             updated_at = excluded.updated_at
           WHERE transactions.user_id = excluded.user_id AND transactions.item_id = excluded.item_id`,
        )
        .bind(itemId, userId, now, JSON.stringify(rows), userId, itemId, startCursor),
    )
  }
  for (let i = 0; i < write.removedIds.length; i += CHUNK * 5) {
    statements.push(
      db
        .prepare(
          `DELETE FROM transactions WHERE user_id = ? AND item_id = ?
             AND transaction_id IN (SELECT value FROM json_each(?)) AND ${GUARD}`,
        )
        .bind(userId, itemId, JSON.stringify(write.removedIds.slice(i, i + CHUNK * 5)), userId, itemId, startCursor),
    )
  }
  // Last, so that every statement above saw the old cursor; its row count says who won.
  statements.push(
    db
      .prepare(
        `UPDATE items SET transactions_cursor = ?, transactions_synced_at = ?
         WHERE user_id = ? AND item_id = ? AND transactions_cursor IS ?`,
      )
      .bind(nextCursor, now, userId, itemId, startCursor),
  )
  const results = await db.batch(statements)
  return results.at(-1)?.meta.changes === 1
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
export async function listTransactions(
  db: D1Database,
  userId: string,
  filter: TransactionFilter,
): Promise<{ transactions: Transaction[]; more: boolean }> {
  const where = ['user_id = ?']
  const params: (string | number)[] = [userId]
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
  const { results } = await db
    .prepare(
      `SELECT * FROM transactions WHERE ${where.join(' AND ')}
       ORDER BY date DESC, transaction_id DESC LIMIT ?`,
    )
    .bind(...params, filter.limit + 1)
    .all<Row>()
  return { transactions: results.slice(0, filter.limit).map(toTransaction), more: results.length > filter.limit }
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
