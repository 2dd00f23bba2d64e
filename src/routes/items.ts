import { Hono } from 'hono'
import { requireUser } from '../auth/bearer'
import { getConfig } from '../env'
import { PlaidClient } from '../plaid/client'
import { PlaidApiError } from '../plaid/errors'
import { openAccessToken } from '../services/access-token'
import { refreshItem, requireItem } from '../services/linking'
import { syncItem } from '../services/transactions-sync'
import { deleteItem, listItems, publicItem } from '../store/items'
import type { AppEnv } from '../types'
import { plaidId, validate } from './input'
import { operation } from './operation'

const itemIdParam = plaidId('item_id')

export const itemRoutes = new Hono<AppEnv>()
  .get('/items', operation('list items'), requireUser, async (c) => {
    const config = getConfig(c.env)
    return c.json({ items: await listItems(config.db, c.get('userId')) })
  })
  .get('/items/:item_id', operation('get item'), requireUser, async (c) => {
    const config = getConfig(c.env)
    const itemId = validate(itemIdParam, c.req.param('item_id'), 'item_id')
    return c.json({ item: publicItem(await requireItem(config, c.get('userId'), itemId)) })
  })
  .delete('/items/:item_id', operation('remove item'), requireUser, async (c) => {
    const config = getConfig(c.env)
    const userId = c.get('userId')
    const item = await requireItem(config, userId, validate(itemIdParam, c.req.param('item_id'), 'item_id'))
    try {
      await new PlaidClient(config.plaid).removeItem(await openAccessToken(config, item))
    } catch (error) {
      // Already gone at Plaid (removed elsewhere, or revoked by the user): only our copy is left.
      if (!(error instanceof PlaidApiError && error.errorCode === 'ITEM_NOT_FOUND')) throw error
    }
    await deleteItem(config.db, userId, item.item_id)
    return c.body(null, 204)
  })
  // A sync by hand (the frontend's "refresh"); webhooks trigger the same sync through the queue.
  .post('/items/:item_id/sync', operation('sync transactions'), requireUser, async (c) => {
    const config = getConfig(c.env)
    const item = await requireItem(config, c.get('userId'), validate(itemIdParam, c.req.param('item_id'), 'item_id'))
    return c.json(await syncItem(config, new PlaidClient(config.plaid), item))
  })
  // Called when Link's update mode finishes (and whenever fresh status is wanted).
  .post('/items/:item_id/refresh', operation('refresh item'), requireUser, async (c) => {
    const config = getConfig(c.env)
    const item = await requireItem(config, c.get('userId'), validate(itemIdParam, c.req.param('item_id'), 'item_id'))
    return c.json(await refreshItem(config, new PlaidClient(config.plaid), item))
  })
