import { Hono } from 'hono/tiny'
import { authenticateUser } from '../auth/bearer'
import { logOf, serviceContext } from '../context'
import { toFailure } from '../error-handler'
import { refreshBalancesOf } from '../services/balance-refresh'
import { listAccounts, requireItem } from '../services/items'
import type { AppEnv } from '../types'
import { readQuery } from './input'
import { endpoint } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { AccountsQuery } from './schemas'

export const accountRoutes = new Hono<AppEnv>().get(
  '/accounts',
  endpoint({ operation: 'list accounts', caller: authenticateUser }, async (c) => {
    const ctx = serviceContext(c)
    const { config } = ctx
    const userId = c.get('userId')
    const query = readQuery(c, AccountsQuery)
    const only = query.item_id ? await requireItem(config, userId, query.item_id) : undefined
    if (query.refresh !== 'true') return c.json({ accounts: await listAccounts(config, userId, query.item_id) })

    await limitPlaidCalls(c)
    const outcomes = await refreshBalancesOf(ctx, userId, only)
    const failures = outcomes.flatMap((o) => (o.outcome === 'failed' ? [o.error] : []))
    // Nothing live to show (every Item failed): the answer is that failure, as any request's.
    if (failures[0] && failures.length === outcomes.length) throw failures[0]
    const balancesRefresh = outcomes.map((o) => {
      if (o.outcome !== 'failed') return o
      const failure = toFailure(o.error, c.get('operation'))
      logOf(c)('warn', 'balance refresh of an item failed', {
        item_id: o.item_id,
        status: failure.status,
        ...failure.log,
      })
      return { item_id: o.item_id, outcome: o.outcome, http_status: failure.status, error: failure.body }
    })
    return c.json({ accounts: await listAccounts(config, userId, query.item_id), balances_refresh: balancesRefresh })
  }),
)
