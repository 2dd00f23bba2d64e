import type { ServiceContext } from '../context'
import { deleteLegacyRows } from '../store/legacy/move'
import { forgetUser } from '../store/user-records'
import { userStore } from '../store/user-store'
import { removeItem } from './items'
import { removePendingLink } from './pending-links'

/**
 * Deletes everything kept about a user: each Item removed at Plaid and here, the rows about them
 * in D1, then their object's storage. Each step is idempotent, and they run in an order that a
 * failure at any point leaves the rest for the next call: Items already removed are no longer
 * listed, and the D1 rows go before the object is wiped, so nothing copied from D1 comes back
 * into the emptied object.
 */
export async function deleteUserData(ctx: ServiceContext, userId: string): Promise<{ items: number }> {
  const store = userStore(ctx.config, userId)
  const items = await store.listStoredItems(userId)
  for (const item of items) await removeItem(ctx, item)
  // A link Plaid exchanged but not stored yet (its request died) is billed too.
  for (const link of await store.listPendingLinks(userId)) await removePendingLink(ctx, userId, link)
  await deleteLegacyRows(ctx.config.db, userId)
  await forgetUser(ctx.config.db, userId)
  await store.deleteAll(userId)
  ctx.log('info', 'user data deleted', { items_removed: items.length })
  return { items: items.length }
}
