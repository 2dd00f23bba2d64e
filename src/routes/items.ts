import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { requireUser } from '../auth/bearer'
import { serviceContext } from '../context'
import { type Config, getConfig } from '../env'
import { isItemGone } from '../plaid/errors'
import { openAccessToken } from '../services/access-token'
import { refreshItem, requireItem } from '../services/linking'
import { syncItem } from '../services/transactions-sync'
import { unindexItem } from '../store/item-index'
import { publicItem } from '../store/items'
import { userStore } from '../store/users'
import type { AppEnv } from '../types'
import { plaidId, validate } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'

const itemIdParam = plaidId('item_id')

/** The Item named in the path, if it is this user's; 404 otherwise. */
const itemInPath = (c: Context<AppEnv>, config: Config) =>
  requireItem(config, c.get('userId'), validate(itemIdParam, c.req.param('item_id'), 'item_id'))

export const itemRoutes = new Hono<AppEnv>()
  .get('/items', operation('list items'), requireUser, async (c) => {
    const userId = c.get('userId')
    return c.json({ items: await userStore(getConfig(c.env), userId).listItems(userId) })
  })
  .get('/items/:item_id', operation('get item'), requireUser, async (c) => {
    return c.json({ item: publicItem(await itemInPath(c, getConfig(c.env))) })
  })
  .delete('/items/:item_id', operation('remove item'), requireUser, async (c) => {
    const { config, plaid, log } = serviceContext(c)
    const item = await itemInPath(c, config)
    try {
      await plaid.removeItem(await openAccessToken(config, item))
    } catch (error) {
      // Already gone at Plaid (removed elsewhere, revoked by the user, or a token Plaid no longer
      // knows): only our copy is left, and keeping it would leave the user unable to remove it.
      if (!isItemGone(error)) throw error
      log('warn', 'item already gone at Plaid; removing the local copy', {
        item_id: item.item_id,
        error_code: error.errorCode,
      })
    }
    // The object first: an index row left behind (the D1 write failed) only makes a webhook find nothing.
    await userStore(config, item.user_id).deleteItem(item.user_id, item.item_id)
    await unindexItem(config.db, item.user_id, item.item_id)
    return c.body(null, 204)
  })
  // A sync by hand (the frontend's "refresh"); webhooks trigger the same sync through the queue.
  .post('/items/:item_id/sync', operation('sync transactions'), requireUser, async (c) => {
    const ctx = serviceContext(c)
    const item = await itemInPath(c, ctx.config)
    await limitPlaidCalls(c)
    return c.json(await syncItem(ctx, item))
  })
  // Called when Link's update mode finishes (and whenever fresh status is wanted).
  .post('/items/:item_id/refresh', operation('refresh item'), requireUser, async (c) => {
    const ctx = serviceContext(c)
    const item = await itemInPath(c, ctx.config)
    await limitPlaidCalls(c)
    return c.json(await refreshItem(ctx, item))
  })
