import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { getConfig } from '../env'
import { ApiError } from '../errors'
import { listTransactions } from '../services/transactions'
import type { AppEnv } from '../types'
import { plaidId, queryObject, readQuery } from './input'
import { operation } from './operation'

/** Whether a YYYY-MM-DD string names a day that exists: the format check alone lets 2024-02-31 through. */
const isCalendarDay = (value: string) => {
  const time = Date.parse(`${value}T00:00:00Z`)
  // Date.parse may roll an impossible day over into the next month; printing it back catches that.
  return !Number.isNaN(time) && new Date(time).toISOString().startsWith(value)
}

// abortPipeEarly: a value that is no date at all gets one message, not two.
const date = (name: string) =>
  v.config(
    v.pipe(
      v.string(),
      v.isoDate(`${name} must be a date (YYYY-MM-DD)`),
      v.check(isCalendarDay, `${name} is not a day of the calendar`),
    ),
    { abortPipeEarly: true },
  )

const TransactionsQuery = queryObject({
  item_id: v.optional(plaidId('item_id')),
  account_id: v.optional(plaidId('account_id')),
  start_date: v.optional(date('start_date')),
  end_date: v.optional(date('end_date')),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,4}$/, 'limit must be a whole number from 1 to 500'),
      v.transform(Number),
      v.minValue(1, 'limit must be a whole number from 1 to 500'),
      v.maxValue(500, 'limit must be a whole number from 1 to 500'),
    ),
  ),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(512))),
})

export const transactionRoutes = new Hono<AppEnv>().get(
  '/transactions',
  operation('list transactions'),
  requireUser,
  async (c) => {
    const config = getConfig(c.env)
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
        limit: query.limit ?? 100,
      }),
    )
  },
)
