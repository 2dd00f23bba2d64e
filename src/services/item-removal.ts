import type { ServiceContext } from '../context'
import { isItemGone } from '../plaid/errors'
import { unindexItem } from '../store/item-index'
import type { StoredItem } from '../store/items'
import { deleteLegacyItem } from '../store/legacy-import'
import { userStore } from '../store/users'
import { openAccessToken } from './access-token'

/**
 * Removes the Item at Plaid (which stops its billing), then here. An Item Plaid no longer knows
 * counts as removed there: removed elsewhere, revoked by the user, or a token Plaid forgot. Only
 * our copy is left then, and keeping it would leave the user unable to remove it.
 */
export async function removeItem({ config, plaid, log }: ServiceContext, item: StoredItem): Promise<void> {
  try {
    await plaid.removeItem(await openAccessToken(config, item))
  } catch (error) {
    if (!isItemGone(error)) throw error
    log('warn', 'item already gone at Plaid; removing the local copy', {
      item_id: item.item_id,
      error_code: error.errorCode,
    })
  }
  // Its rows in the old D1 tables before the object's: the cron's reconciliation of the move
  // copies into the object an Item it lacks that is still there, and would bring this one back.
  await deleteLegacyItem(config.db, item.user_id, item.item_id)
  // The object next: an index row left behind (the D1 write failed) only makes a webhook find nothing.
  await userStore(config, item.user_id).deleteItem(item.user_id, item.item_id)
  await unindexItem(config.db, item.user_id, item.item_id)
}
