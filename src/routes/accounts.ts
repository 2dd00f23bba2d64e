import { Hono } from 'hono/tiny'
import { requireUser } from '../auth/bearer'
import { serviceContext } from '../context'
import { describeFailure } from '../error-handler'
import { refreshBalancesOf } from '../services/balance-refresh'
import { requireItem } from '../services/linking'
import { userStore } from '../store/users'
import type { AppEnv } from '../types'
import { readQuery } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { AccountsQuery } from './schemas'

export const accountRoutes = new Hono<AppEnv>().get('/accounts', operation('list accounts'), requireUser, async (c) => {
  const ctx = serviceContext(c)
  const { config } = ctx
  const userId = c.get('userId')
  const query = readQuery(c, AccountsQuery)
  const store = userStore(config, userId)
  const only = query.item_id ? await requireItem(config, userId, query.item_id) : undefined
  if (query.refresh !== 'true') return c.json({ accounts: await store.listAccounts(userId, query.item_id) })

  await limitPlaidCalls(c)
  const outcomes = await refreshBalancesOf(ctx, only ? [only] : await store.listStoredItems(userId))
  const failures = outcomes.flatMap((o) => (o.outcome === 'failed' ? [o.error] : []))
  // Nothing live to show (every Item failed): the answer is that failure, as any request's.
  if (failures[0] && failures.length === outcomes.length) throw failures[0]
  const balancesRefresh = outcomes.map((o) => {
    if (o.outcome !== 'failed') return o
    const failure = describeFailure(o.error, c.get('operation'))
    c.get('log')('warn', 'balance refresh of an item failed', {
      item_id: o.item_id,
      status: failure.status,
      ...failure.log,
    })
    return { item_id: o.item_id, outcome: o.outcome, http_status: failure.status, error: failure.body }
  })
  return c.json({ accounts: await store.listAccounts(userId, query.item_id), balances_refresh: balancesRefresh })
})
