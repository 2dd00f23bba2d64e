import { Hono } from 'hono'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { getConfig } from '../env'
import { PlaidClient } from '../plaid/client'
import { refreshBalances, requireItem } from '../services/linking'
import { listAccounts, listStoredItems } from '../store/items'
import type { AppEnv } from '../types'
import { jsonObject, plaidId, readQuery } from './input'
import { operation } from './operation'

const AccountsQuery = jsonObject({
  item_id: v.optional(plaidId('item_id')),
  refresh: v.optional(v.picklist(['true', 'false'], 'refresh must be true or false')),
})

export const accountRoutes = new Hono<AppEnv>().get('/accounts', operation('list accounts'), requireUser, async (c) => {
  const config = getConfig(c.env)
  const userId = c.get('userId')
  const query = readQuery(c, AccountsQuery)
  const only = query.item_id ? await requireItem(config, userId, query.item_id) : undefined
  if (query.refresh === 'true') {
    const plaid = new PlaidClient(config.plaid)
    const items = only ? [only] : await listStoredItems(config.db, userId)
    // Balance checks reach each institution; run them side by side, and fail as a whole if
    // one fails, so the answer never mixes fresh and stale balances without saying so.
    await Promise.all(items.map((item) => refreshBalances(config, plaid, item)))
  }
  return c.json({ accounts: await listAccounts(config.db, userId, query.item_id) })
})
