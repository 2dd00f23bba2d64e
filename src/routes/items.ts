import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { requireUser } from '../auth/bearer'
import type { Config } from '../config'
import { configOf, serviceContext } from '../context'
import { removeItem } from '../services/item-removal'
import { refreshItem, requireItem } from '../services/linking'
import { syncItem } from '../services/transactions-sync'
import { publicItem } from '../store/items'
import { userStore } from '../store/users'
import type { AppEnv } from '../types'
import { validate } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { ItemIdParam } from './schemas'

/** The Item named in the path, if it is this user's; 404 otherwise. */
const itemInPath = (c: Context<AppEnv>, config: Config) =>
  requireItem(config, c.get('userId'), validate(ItemIdParam, c.req.param('item_id'), 'item_id'))

export const itemRoutes = new Hono<AppEnv>()
  .get('/items', operation('list items'), requireUser, async (c) => {
    const userId = c.get('userId')
    return c.json({ items: await userStore(configOf(c), userId).listItems(userId) })
  })
  .get('/items/:item_id', operation('get item'), requireUser, async (c) => {
    return c.json({ item: publicItem(await itemInPath(c, configOf(c))) })
  })
  .delete('/items/:item_id', operation('remove item'), requireUser, async (c) => {
    const ctx = serviceContext(c)
    await removeItem(ctx, await itemInPath(c, ctx.config))
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
