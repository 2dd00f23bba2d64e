import { Hono } from 'hono/tiny'
import { requireUser } from '../auth/bearer'
import { configOf } from '../context'
import { fromBase64Url, toBase64Url } from '../crypto/token-cipher'
import { ApiError } from '../errors'
import { requireItem } from '../services/linking'
import { userStore } from '../store/users'
import type { AppEnv } from '../types'
import { readQuery } from './input'
import { operation } from './operation'
import { DEFAULT_PAGE_SIZE, TransactionsQuery } from './schemas'

/** Page positions are opaque to clients: (date, transaction_id) of the last row, base64url JSON. */
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

export const transactionRoutes = new Hono<AppEnv>().get(
  '/transactions',
  operation('list transactions'),
  requireUser,
  async (c) => {
    const config = configOf(c)
    const query = readQuery(c, TransactionsQuery)
    if (query.start_date && query.end_date && query.start_date > query.end_date) {
      throw new ApiError(422, 'invalid query: start_date is after end_date')
    }
    // Another user's item_id answers 404 here too, exactly as a missing one does.
    const userId = c.get('userId')
    if (query.item_id) await requireItem(config, userId, query.item_id)
    const { transactions, more } = await userStore(config, userId).listTransactions(userId, {
      itemId: query.item_id,
      accountId: query.account_id,
      startDate: query.start_date,
      endDate: query.end_date,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
      limit: query.limit ?? DEFAULT_PAGE_SIZE,
    })
    const last = transactions.at(-1)
    return c.json({ transactions, next_cursor: more && last ? encodeCursor(last.date, last.transaction_id) : null })
  },
)
