import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { serviceContext } from '../context'
import { refreshBalances, requireItem } from '../services/linking'
import { userStore } from '../store/users'
import type { AppEnv } from '../types'
import { plaidId, queryObject, readQuery } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'

const AccountsQuery = queryObject({
  item_id: v.optional(plaidId('item_id')),
  refresh: v.optional(v.picklist(['true', 'false'], 'refresh must be true or false')),
})

export const accountRoutes = new Hono<AppEnv>().get('/accounts', operation('list accounts'), requireUser, async (c) => {
  const ctx = serviceContext(c)
  const { config } = ctx
  const userId = c.get('userId')
  const query = readQuery(c, AccountsQuery)
  const store = userStore(config, userId)
  const only = query.item_id ? await requireItem(config, userId, query.item_id) : undefined
  if (query.refresh === 'true') {
    await limitPlaidCalls(c)
    const items = only ? [only] : await store.listStoredItems(userId)
    // Balance checks reach each institution; run them side by side and let every one finish
    // (each is billed, and each stores what it fetched), then report the first failure, so the
    // answer never mixes fresh and stale balances without saying so.
    const results = await Promise.allSettled(items.map((item) => refreshBalances(ctx, item)))
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failure) throw failure.reason
  }
  return c.json({ accounts: await store.listAccounts(userId, query.item_id) })
})
