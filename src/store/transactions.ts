/** Transactions in the user's object, as the API lists them. Syncs write them (sync-staging.ts). */
import type { PlaidTransaction } from '../plaid/types'
import type { ENRICHED_FIELDS } from './columns'

/** A stored transaction as the API lists it: Plaid's fields, its Item, and `category` (below). */
export type Transaction = PlaidTransaction & {
  item_id: string
  /**
   * personal_finance_category's primary and detailed, under the name the API first gave them
   * (kept for the frontends that read it; not Plaid's deprecated `category` array).
   */
  category: { primary: string; detailed: string } | null
}

type Enrichment = Pick<PlaidTransaction, (typeof ENRICHED_FIELDS)[number]>

type Row = Pick<
  PlaidTransaction,
  | 'transaction_id'
  | 'account_id'
  | 'amount'
  | 'iso_currency_code'
  | 'unofficial_currency_code'
  | 'date'
  | 'authorized_date'
  | 'name'
  | 'merchant_name'
  | 'pending_transaction_id'
  | 'payment_channel'
> & {
  item_id: string
  pending: number
  category_primary: string | null
  category_detailed: string | null
  /** JSON of Enrichment; NULL for rows synced before schema version 3. */
  enrichment: string | null
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
    // A row value, which SQLite seeks to in the index; the same test spelt with OR made it read
    // every row before the position, so each page took longer than the one before.
    add('(date, transaction_id) < (?, ?)', filter.after.date, filter.after.transactionId)
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
  const category =
    row.category_primary && row.category_detailed
      ? { primary: row.category_primary, detailed: row.category_detailed }
      : null
  // Fields an older sync did not keep read as Plaid's "not known": null, or no counterparties.
  const enriched: Partial<Enrichment> = row.enrichment ? JSON.parse(row.enrichment) : {}
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
    category,
    personal_finance_category:
      enriched.personal_finance_category ?? (category && { ...category, confidence_level: null, version: null }),
    personal_finance_category_icon_url: enriched.personal_finance_category_icon_url ?? null,
    datetime: enriched.datetime ?? null,
    authorized_datetime: enriched.authorized_datetime ?? null,
    merchant_entity_id: enriched.merchant_entity_id ?? null,
    logo_url: enriched.logo_url ?? null,
    website: enriched.website ?? null,
    counterparties: enriched.counterparties ?? [],
    location: enriched.location ?? null,
  }
}
