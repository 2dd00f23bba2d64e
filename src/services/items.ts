/**
 * An Item's life after linking: finding and listing the user's Items and accounts, refreshing
 * status, accounts and balances from Plaid, recording what Plaid says about an Item, and
 * removing it. Routes, the queue consumer and other services call these; they throw the app's
 * typed errors.
 */
import type { Config } from '../config'
import type { ServiceContext } from '../context'
import { ApiError } from '../errors'
import { isItemGone } from '../plaid/errors'
import { needsUser, statusForError } from '../plaid/item-status'
import type { AccountsGetResponse } from '../plaid/types'
import { unindexItem } from '../store/item-index'
import { type Account, type Item, publicItem, type StoredItem } from '../store/items'
import { deleteLegacyItem } from '../store/legacy/move'
import { userStore } from '../store/user-store'
import { openAccessToken } from './access-token'
import { queueItemSync } from './item-sync-queue'

/** An Item with its accounts, as the API answers them. */
export type LinkedItem = { item: Item; accounts: Account[] }

/** The user's Item, or 404: another user's Item is indistinguishable from a missing one. */
export async function requireItem(config: Config, userId: string, itemId: string): Promise<StoredItem> {
  const item = await userStore(config, userId).getItem(userId, itemId)
  if (!item) throw new ApiError(404, 'item not found')
  return item
}

/** The user's Item as the API shows it, or 404 (requireItem). */
export async function getItem(config: Config, userId: string, itemId: string): Promise<Item> {
  return publicItem(await requireItem(config, userId, itemId))
}

/** The user's Items as the API shows them. */
export async function listItems(config: Config, userId: string): Promise<Item[]> {
  return userStore(config, userId).listItems(userId)
}

/** The user's accounts, or those of one Item (the caller has checked it is theirs: requireItem). */
export async function listAccounts(config: Config, userId: string, itemId?: string): Promise<Account[]> {
  return userStore(config, userId).listAccounts(userId, itemId)
}

/**
 * Re-reads the Item's status and accounts from Plaid: after update mode finishes in Link, or
 * whenever the frontend wants fresh data. An Item that needs the user again is stored with that
 * status instead of failing, so the frontend can offer update mode.
 */
export async function refreshItem(ctx: ServiceContext, item: StoredItem): Promise<LinkedItem> {
  const { config, plaid } = ctx
  const accessToken = await openAccessToken(config, item)
  let errorCode: string | null
  try {
    errorCode = (await plaid.getItem(accessToken)).item.error?.error_code ?? null
  } catch (error) {
    // An Item Plaid no longer knows is stored as such, not failed: the user can then be told.
    if (!needsUser(error)) throw error
    errorCode = error.errorCode
  }
  let accounts: AccountsGetResponse | undefined
  let status = statusForError(errorCode)
  let storedError = errorCode
  if (status === 'good') {
    try {
      accounts = await plaid.getAccounts(accessToken)
    } catch (error) {
      if (!needsUser(error)) throw error
      status = statusForError(error.errorCode)
      storedError = error.errorCode
    }
  }
  const store = userStore(config, item.user_id)
  const updated = await store.saveItemRefresh(
    item.user_id,
    item.item_id,
    // Accounts read after update mode are what the user chose to share: the offer is answered.
    { accounts: accounts?.accounts, status, errorCode: storedError, accountsShared: accounts !== undefined },
    new Date().toISOString(),
  )
  // A repaired Item starts syncing again (and one whose first sync never ran gets it now).
  if (status === 'good' && (item.status !== 'good' || !item.transactions_cursor)) {
    await queueItemSync(ctx, item.item_id, item.status !== 'good' ? 'repaired' : 'linked')
  }
  return { item: publicItem(updated ?? item), accounts: await store.listAccounts(item.user_id, item.item_id) }
}

/**
 * Fetches live balances for the Item and stores them. A Plaid error that asks for the user
 * (ITEM_LOGIN_REQUIRED and the like) is recorded on the Item before it is rethrown.
 */
export async function refreshBalances({ config, plaid }: ServiceContext, item: StoredItem): Promise<void> {
  const accessToken = await openAccessToken(config, item)
  const now = new Date().toISOString()
  try {
    const { accounts } = await plaid.getBalances(accessToken)
    // A successful call proves the login works; warnings such as PENDING_EXPIRATION still stand.
    const cleared = item.status === 'login_required'
    await userStore(config, item.user_id).saveItemRefresh(
      item.user_id,
      item.item_id,
      { accounts, status: cleared ? 'good' : item.status, errorCode: cleared ? null : item.error_code },
      now,
    )
  } catch (error) {
    await recordItemError(config, item, error)
    throw error
  }
}

/** Puts an error that needs the user (ITEM_LOGIN_REQUIRED and the like) on the Item. */
export async function recordItemError(config: Config, item: StoredItem, error: unknown): Promise<void> {
  if (!needsUser(error)) return
  // A status the API observed itself, not a webhook: no signing time to order it by.
  await userStore(config, item.user_id).setItemStatus(
    item.user_id,
    item.item_id,
    { status: statusForError(error.errorCode), errorCode: error.errorCode, signedAt: null },
    new Date().toISOString(),
  )
}

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
