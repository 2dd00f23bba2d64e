/**
 * Storing a link Plaid has exchanged: its accounts read, the Item indexed and written with them
 * in the user's object, duplicates settled, its first sync queued. Both the exchange request and
 * the background finisher of pending links (pending-links.ts) end here, so either may finish a
 * link and both do it the same way; storing one Item twice is a no-op (insertLinkedItem).
 */
import type { ServiceContext } from '../context'
import { ApiError } from '../errors'
import { newItemReplacesOlder } from '../plaid/institutions'
import { statusForError } from '../plaid/item-status'
import { indexItem, unindexItem } from '../store/item-index'
import { type Account, type AccountIdentity, publicItem, type StoredItem } from '../store/items'
import { userStore } from '../store/user-store'
import { queueItemSync } from './item-sync-queue'
import { type LinkedItem, removeItem } from './items'

/** A new link's answer: at an institution where it replaces the login's older Items, those removed. */
export type NewLink = LinkedItem & { replaced_item_ids?: string[] }

/** What Link's onSuccess metadata (or the older `institution` field) said. */
export type LinkMetadata = {
  institution?: { institution_id?: string; name?: string }
  /** The accounts the user shared in Link, as Plaid's duplicate check compares them. */
  accounts?: AccountIdentity[]
}

/** A link Plaid has exchanged, with its token sealed for this user's Item. */
export type ExchangedLink = {
  itemId: string
  accessToken: string
  sealed: { sealed: string; keyId: string }
  publicTokenHash: string
}

export const duplicateError = (itemId: string) =>
  new ApiError(
    409,
    'this login is already linked: an Item at this institution has the same accounts',
    {},
    { item_id: itemId },
  )

/** Whether `error` is duplicateError's: the user already has an Item for this login. */
export const isDuplicateError = (error: unknown): error is ApiError =>
  error instanceof ApiError && error.status === 409 && error.extra.item_id !== undefined

export const notSaved = () =>
  new ApiError(500, 'Failed to exchange public token: the linked account could not be saved; link it again')

/**
 * Stores the exchanged link for the user; throws duplicateError (nothing stored) when the user
 * already has an Item for this login, notSaved when storage failed, or Plaid's error.
 */
export async function storeLinkedItem(
  ctx: ServiceContext,
  userId: string,
  link: ExchangedLink,
  metadata: LinkMetadata,
): Promise<NewLink> {
  const { config, plaid, log } = ctx
  const store = userStore(config, userId)
  const { itemId } = link
  const accounts = await plaid.getAccounts(link.accessToken)
  const institutionId = accounts.item.institution_id ?? metadata.institution?.institution_id ?? null
  const replacing = newItemReplacesOlder(institutionId)
  const savedAt = new Date().toISOString()
  const stored: StoredItem = {
    item_id: itemId,
    user_id: userId,
    institution_id: institutionId,
    institution_name: accounts.item.institution_name ?? metadata.institution?.name ?? null,
    status: statusForError(accounts.item.error?.error_code),
    error_code: accounts.item.error?.error_code ?? null,
    new_accounts_available: 0,
    transactions_synced_at: null,
    consent_expiration_time: null,
    disconnect_time: null,
    access_token_sealed: link.sealed.sealed,
    access_token_key_id: link.sealed.keyId,
    created_at: savedAt,
    updated_at: savedAt,
  }
  let inserted: boolean
  try {
    // The index first: an Item stored but not indexed would never hear of its webhooks, while an
    // index row whose Item was not stored only makes a webhook find nothing (and is removed below).
    await indexItem(
      config.db,
      { item_id: itemId, user_id: userId, access_token_key_id: link.sealed.keyId },
      accounts.item.webhook,
      new Date(savedAt),
    )
    inserted = await store.insertLinkedItem(userId, stored, accounts.accounts, link.publicTokenHash, replacing)
  } catch (error) {
    log('error', 'saving a linked item failed', { error: error instanceof Error ? error.message : 'unknown' })
    // An error does not say nothing was written: the write may have committed before the answer
    // was lost. Asked again (a new stub: the failed one may be broken), a stored Item is a success.
    const storedAlready = await userStore(config, userId)
      .getItem(userId, itemId)
      .catch(() => undefined)
    if (storedAlready) return finish(ctx, storedAlready, replacing)
    // Unknown (the object cannot answer either): leave it to the pending link's finisher, which
    // stores it or removes it at Plaid once the object is back.
    if (storedAlready === undefined) throw new PendingLinkKept(notSaved())
    await unindexItem(config.db, userId, itemId).catch(() => {})
    throw notSaved()
  }
  if (!inserted) {
    await unindexItem(config.db, userId, itemId)
    // Refused as a duplicate (by the condition inside the write): name the Item it duplicates.
    const duplicate = institutionId ? await store.findDuplicateItem(userId, institutionId, accounts.accounts) : null
    if (!duplicate) throw notSaved()
    throw duplicateError(duplicate.item_id)
  }
  return finish(ctx, stored, replacing)
}

/**
 * Thrown when a link could not be stored and may yet be: the caller must neither remove the Item
 * at Plaid nor drop its pending record (the background finisher settles it).
 */
export class PendingLinkKept extends Error {
  override name = 'PendingLinkKept'
  constructor(readonly answer: ApiError) {
    super(answer.message)
  }
}

/** Stored: from here a failure must not undo the link (the Item is the user's now). */
async function finish(ctx: ServiceContext, stored: StoredItem, replacing: boolean): Promise<NewLink> {
  const store = userStore(ctx.config, stored.user_id)
  await queueItemSync(ctx, stored.item_id, 'linked')
  const linked = { item: publicItem(stored), accounts: await store.listAccounts(stored.user_id, stored.item_id) }
  if (!replacing || stored.institution_id === null) return linked
  const replaced = await removeOlderDuplicates(ctx, stored, linked.accounts)
  return replaced.length ? { ...linked, replaced_item_ids: replaced } : linked
}

/**
 * Removes the user's older Items that the new one duplicates; answers those removed. One that
 * cannot be removed now stays listed (its status tells whether it still works) for the user to
 * remove later, which is logged.
 */
async function removeOlderDuplicates(ctx: ServiceContext, item: StoredItem, accounts: Account[]): Promise<string[]> {
  const { config, log } = ctx
  const store = userStore(config, item.user_id)
  const duplicates = await store.findDuplicateItems(item.user_id, item.institution_id as string, accounts, item.item_id)
  const removed: string[] = []
  for (const itemId of duplicates) {
    try {
      const older = await store.getItem(item.user_id, itemId)
      if (older) await removeItem(ctx, older)
      removed.push(itemId)
      log('info', 'older duplicate item removed: the new item replaces it', { item_id: itemId, by: item.item_id })
    } catch (error) {
      log('error', 'older duplicate item not removed; it stays listed', {
        item_id: itemId,
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
  }
  return removed
}

/**
 * Ends a link at Plaid that could not be stored (nothing is then billed for it); answers whether
 * that worked. If not, the Item is orphaned at Plaid unless its pending record stays for a later try.
 */
export async function removeAtPlaid(
  { plaid, log }: ServiceContext,
  accessToken: string,
  itemId: string,
  reason: string,
): Promise<boolean> {
  try {
    await plaid.removeItem(accessToken)
    log('warn', 'removed a newly linked item at Plaid', { item_id: itemId, reason })
    return true
  } catch (error) {
    log('error', 'newly linked item not removed at Plaid; its pending link is kept for a later try', {
      item_id: itemId,
      reason,
      error: error instanceof Error ? error.name : 'unknown',
    })
    return false
  }
}
