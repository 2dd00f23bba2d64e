/**
 * Linking a bank: exchanging Link's public token for an Item, stored with its accounts (storing
 * itself is link-storage.ts, shared with the finisher of pending links). The route calls this; it
 * throws the app's typed errors.
 */
import type { ServiceContext } from '../context'
import { ApiError } from '../errors'
import { newItemReplacesOlder } from '../plaid/institutions'
import { publicItem } from '../store/items'
import { hashPublicToken } from '../store/public-token-claims'
import { claimTokenOwner } from '../store/token-owners'
import { userStore } from '../store/user-store'
import { sealAccessToken } from './access-token'
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
 * first sync is queued (item-sync-queue.ts). A token presented again is answered from the user's
 * object (its claim names the Item the token made); D1 only confirms the token is this user's.
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
