/**
 * The user's stored transactions, a page at a time. Page positions are opaque to clients: the
 * (date, transaction_id) of a page's last row, as base64url JSON.
 */
import type { Config } from '../config'
import { fromBase64Url, toBase64Url } from '../crypto/base64url'
import { ApiError } from '../errors'
import type { Transaction, TransactionFilter } from '../store/transactions'
import { userStore } from '../store/user-store'
import { requireItem } from './items'

export type TransactionsQuery = Omit<TransactionFilter, 'after'> & {
  /** The `next_cursor` of the previous page. */
  cursor?: string
}

export type TransactionsPage = { transactions: Transaction[]; next_cursor: string | null }

/** A page of the user's transactions, newest first; an item_id not theirs answers 404. */
export async function listTransactions(
  config: Config,
  userId: string,
  query: TransactionsQuery,
): Promise<TransactionsPage> {
  const { cursor, ...filter } = query
  // Another user's item_id answers 404 here too, exactly as a missing one does.
  if (filter.itemId) await requireItem(config, userId, filter.itemId)
  const { transactions, more } = await userStore(config, userId).listTransactions(userId, {
    ...filter,
    after: cursor ? decodeCursor(cursor) : undefined,
  })
  const last = transactions.at(-1)
  return { transactions, next_cursor: more && last ? encodeCursor(last.date, last.transaction_id) : null }
}

const encodeCursor = (d: string, id: string) => toBase64Url(new TextEncoder().encode(JSON.stringify([d, id])))

function decodeCursor(cursor: string): { date: string; transactionId: string } {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor)))
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return { date: value[0], transactionId: value[1] }
    }
  } catch {}
  throw new ApiError(422, 'invalid query: cursor is not one this API gave out')
}
