/**
 * The Linked Accounts flows that combine Plaid calls with storage: exchanging a public token,
 * refreshing an Item, removing it. Routes call these; they throw the app's typed errors.
 */

import type { Config } from '../config'
import type { ServiceContext } from '../context'
import { ApiError } from '../errors'
import { newItemReplacesOlder } from '../plaid/institutions'
import type { AccountsGetResponse } from '../plaid/types'
import { publicItem, type StoredItem } from '../store/items'
import { hashPublicToken } from '../store/public-token-claims'
import { claimTokenOwner } from '../store/token-owners'
import { userStore } from '../store/users'
import { openAccessToken, sealAccessToken } from './access-token'
import { type LinkedItem, needsUser, statusForError } from './item-status'
import { queueItemSync } from './item-sync-queue'
import {
  duplicateError,
  type ExchangedLink,
  isDuplicateError,
  type LinkMetadata,
  type NewLink,
  notSaved,
  PendingLinkKept,
  removeAtPlaid,
  storeLinkedItem,
} from './link-storage'

/** The user's Item, or 404: another user's Item is indistinguishable from a missing one. */
export async function requireItem(config: Config, userId: string, itemId: string): Promise<StoredItem> {
  const item = await userStore(config, userId).getItem(userId, itemId)
  if (!item) throw new ApiError(404, 'item not found')
  return item
}

/**
 * Exchanges Link's public token and stores the new Item with its accounts.
 *
 * Guarantees: one public token yields at most one Item (a claim row is taken before Plaid is
 * called); a user never holds two Items for one login, which Plaid defines as the same institution
 * with an account of the same name and mask (a second login at the same bank with other accounts
 * is linked). Link's metadata, when the frontend sends it, is checked before the exchange, so a
 * detected duplicate is never exchanged (Plaid's advice); the accounts Plaid returns are checked
 * again inside the write, which also settles concurrent links. Right after Plaid's exchange the
 * sealed token is recorded as a pending link (store/pending-links.ts): if this request dies (its
 * client went away), the link is finished or removed at Plaid from the background. A failure
 * after the exchange removes that Item at Plaid again, so nothing is left half-linked or billed;
 * if that removal fails too, the pending link stays for the background to settle. A new Item's
 * first sync is queued (item-sync-queue.ts).
 *
 * At an institution where a new Item invalidates the login's older ones (plaid/institutions.ts),
 * the metadata check is skipped (the older Item may already be dead), the new Item is kept, and
 * the older duplicates are removed at Plaid and here: what Plaid advises there.
 */
export async function exchangePublicToken(
  ctx: ServiceContext,
  userId: string,
  publicToken: string,
  metadata: LinkMetadata,
  /** Spends the user's budget of Plaid calls: only when Plaid will be called, not for a replay. */
  beforePlaid: () => Promise<void> = async () => {},
): Promise<{ created: boolean } & NewLink> {
  const { config, plaid, log } = ctx
  const store = userStore(config, userId)
  const hash = await hashPublicToken(publicToken)
  const now = new Date()
  if ((await claimTokenOwner(config.db, hash, userId, now)) !== userId) {
    throw new ApiError(409, 'this public token has already been used')
  }
  const claim = await store.claimPublicToken(userId, hash, now)
  if (!claim.claimed) return replayOf(ctx, userId, claim.existing.item_id)

  let exchanged: { access_token: string; item_id: string }
  try {
    const knownInstitution = metadata.institution?.institution_id
    if (knownInstitution && metadata.accounts?.length && !newItemReplacesOlder(knownInstitution)) {
      const duplicate = await store.findDuplicateItem(userId, knownInstitution, metadata.accounts)
      if (duplicate) {
        log('info', 'duplicate item refused before the exchange', { item_id: duplicate.item_id })
        throw duplicateError(duplicate.item_id)
      }
    }
    await beforePlaid()
    exchanged = await plaid.exchangePublicToken(publicToken)
  } catch (error) {
    await userStore(config, userId)
      .releasePublicToken(userId, hash)
      .catch(() => {})
    throw error
  }
  const { access_token: accessToken, item_id: itemId } = exchanged
  let link: ExchangedLink
  try {
    const sealed = await sealAccessToken(config, userId, itemId, accessToken)
    link = { itemId, accessToken, sealed, publicTokenHash: hash }
    await store.recordPendingLink(userId, {
      item_id: itemId,
      public_token_hash: hash,
      access_token_sealed: sealed.sealed,
      access_token_key_id: sealed.keyId,
      institution_id: metadata.institution?.institution_id ?? null,
      institution_name: metadata.institution?.name ?? null,
      created_at: new Date().toISOString(),
    })
  } catch (error) {
    // Not recorded: only this request knows the Item, so it is removed now or never.
    if (!(await removeAtPlaid(ctx, accessToken, itemId, 'the link could not be recorded'))) {
      log('error', 'orphaned Plaid item: remove it in the Plaid Dashboard', { item_id: itemId })
    }
    await userStore(config, userId)
      .releasePublicToken(userId, hash)
      .catch(() => {})
    log('error', 'recording a pending link failed', { error: error instanceof Error ? error.name : 'unknown' })
    throw notSaved()
  }
  try {
    return { created: true, ...(await storeLinkedItem(ctx, userId, link, metadata)) }
  } catch (error) {
    // Whether it may still be stored is not known: the pending link's finisher settles it.
    if (error instanceof PendingLinkKept) throw error.answer
    const reason = isDuplicateError(error) ? 'the login was already linked' : 'the Item could not be stored'
    if (await removeAtPlaid(ctx, accessToken, itemId, reason)) {
      await userStore(config, userId)
        .dropPendingLink(userId, itemId, true)
        .catch(() => {})
    }
    throw error
  }
}

/** The answer to a public token presented again: the Item it made, or why there is none. */
async function replayOf(
  ctx: ServiceContext,
  userId: string,
  itemId: string | null,
): Promise<{ created: false } & NewLink> {
  const store = userStore(ctx.config, userId)
  const item = itemId ? await store.getItem(userId, itemId) : null
  if (!item) {
    if (itemId === null || (await store.findPendingLink(userId, itemId))) {
      throw new ApiError(409, 'this public token is being exchanged by another request; list items to see the result')
    }
    throw new ApiError(409, 'this public token was already exchanged and its Item has since been removed')
  }
  return { created: false, item: publicItem(item), accounts: await store.listAccounts(userId, item.item_id) }
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
  await userStore(config, item.user_id).setItemStatusFromWebhook(
    item.user_id,
    item.item_id,
    { status: statusForError(error.errorCode), errorCode: error.errorCode, signedAt: null },
    new Date().toISOString(),
  )
}
