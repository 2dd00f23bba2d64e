import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { authenticateUser } from '../auth/bearer'
import type { Config } from '../config'
import { configOf, serviceContext } from '../context'
import { getItem, listItems, refreshItem, removeItem, requireItem } from '../services/items'
import { syncItem } from '../services/transactions-sync'
import type { AppEnv } from '../types'
import { validate } from './input'
import { endpoint } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { ItemIdParam } from './schemas'

const itemIdInPath = (c: Context<AppEnv>) => validate(ItemIdParam, c.req.param('item_id'), 'item_id')

/** The Item named in the path, if it is this user's; 404 otherwise. */
const itemInPath = (c: Context<AppEnv>, config: Config) => requireItem(config, c.get('userId'), itemIdInPath(c))

export const itemRoutes = new Hono<AppEnv>()
  .get(
    '/items',
    endpoint({ operation: 'list items', caller: authenticateUser }, async (c) => {
      return c.json({ items: await listItems(configOf(c), c.get('userId')) })
    }),
  )
  .get(
    '/items/:item_id',
    endpoint({ operation: 'get item', caller: authenticateUser }, async (c) => {
      return c.json({ item: await getItem(configOf(c), c.get('userId'), itemIdInPath(c)) })
    }),
  )
  .delete(
    '/items/:item_id',
    endpoint({ operation: 'remove item', caller: authenticateUser }, async (c) => {
      const ctx = serviceContext(c)
      await removeItem(ctx, await itemInPath(c, ctx.config))
      return c.body(null, 204)
    }),
  )
  // A sync by hand (the frontend's "refresh"); webhooks trigger the same sync through the queue.
  .post(
    '/items/:item_id/sync',
    endpoint({ operation: 'sync transactions', caller: authenticateUser }, async (c) => {
      const ctx = serviceContext(c)
      const item = await itemInPath(c, ctx.config)
      await limitPlaidCalls(c)
      return c.json(await syncItem(ctx, item))
    }),
  )
  // Called when Link's update mode finishes (and whenever fresh status is wanted).
  .post(
    '/items/:item_id/refresh',
    endpoint({ operation: 'refresh item', caller: authenticateUser }, async (c) => {
      const ctx = serviceContext(c)
      const item = await itemInPath(c, ctx.config)
      await limitPlaidCalls(c)
      return c.json(await refreshItem(ctx, item))
    }),
  )
