import { Hono } from 'hono/tiny'
import { authenticateUser } from '../auth/bearer'
import { configOf } from '../context'
import { ApiError } from '../errors'
import { listTransactions } from '../services/transactions'
import type { AppEnv } from '../types'
import { readQuery } from './input'
import { endpoint } from './operation'
import { DEFAULT_PAGE_SIZE, TransactionsQuery } from './schemas'

export const transactionRoutes = new Hono<AppEnv>().get(
  '/transactions',
  endpoint({ operation: 'list transactions', caller: authenticateUser }, async (c) => {
    const config = configOf(c)
    const query = readQuery(c, TransactionsQuery)
    if (query.start_date && query.end_date && query.start_date > query.end_date) {
      throw new ApiError(422, 'invalid query: start_date is after end_date')
    }
    return c.json(
      await listTransactions(config, c.get('userId'), {
        itemId: query.item_id,
        accountId: query.account_id,
        startDate: query.start_date,
        endDate: query.end_date,
        cursor: query.cursor,
        limit: query.limit ?? DEFAULT_PAGE_SIZE,
      }),
    )
  }),
)
