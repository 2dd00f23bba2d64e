/**
 * The Linked Accounts flows that combine Plaid calls with storage: exchanging a public token,
 * refreshing an Item, removing it. Routes call these; they throw the app's typed errors.
 */
import type { ServiceContext } from '../context'
import type { Config } from '../env'
import { ApiError } from '../errors'
import { PlaidApiError } from '../plaid/errors'
import { newItemReplacesOlder } from '../plaid/institutions'
import type { AccountsGetResponse } from '../plaid/types'
import { indexItem, unindexItem } from '../store/item-index'
import {
  type Account,
  type AccountIdentity,
  type Item,
  type ItemStatus,
  publicItem,
  type StoredItem,
} from '../store/items'
import { hashPublicToken } from '../store/public-token-claims'
import { claimTokenOwner } from '../store/token-owners'
import { userStore } from '../store/users'
import { openAccessToken, sealAccessToken } from './access-token'
import { removeItem } from './item-removal'
import { queueItemSync } from './item-sync-queue'

export type LinkedItem = { item: Item; accounts: Account[] }

/** A new link's answer: at an institution where it replaces the login's older Items, those removed. */
export type NewLink = LinkedItem & { replaced_item_ids?: string[] }

/**
 * Item errors that need the user, as stored statuses: those update mode fixes (the login; access
 * or accounts the user must grant again at the bank, then in Link), and those that end the Item
 * (access revoked, or an Item Plaid no longer knows), which only removing it and linking the bank
 * again fixes.
 */
const STATUS_FOR_ERROR: Record<string, ItemStatus> = {
  ITEM_LOGIN_REQUIRED: 'login_required',
  ACCESS_NOT_GRANTED: 'update_required',
  NO_ACCOUNTS: 'update_required',
  ITEM_LOCKED: 'update_required',
  USER_SETUP_REQUIRED: 'update_required',
  PENDING_EXPIRATION: 'pending_expiration',
  PENDING_DISCONNECT: 'pending_disconnect',
  USER_PERMISSION_REVOKED: 'permission_revoked',
  ITEM_NOT_FOUND: 'disconnected',
}

export function statusForError(errorCode: string | null | undefined): ItemStatus {
  return (errorCode && STATUS_FOR_ERROR[errorCode]) || 'good'
}

/** The user's Item, or 404: another user's Item is indistinguishable from a missing one. */
export async function requireItem(config: Config, userId: string, itemId: string): Promise<StoredItem> {
  const item = await userStore(config, userId).getItem(userId, itemId)
  if (!item) throw new ApiError(404, 'item not found')
  return item
}

/** What the frontend knows from Link's onSuccess metadata (or the older `institution` field). */
export type LinkMetadata = {
  institution?: { institution_id?: string; name?: string }
  /** The accounts the user shared in Link, as Plaid's duplicate check compares them. */
  accounts?: AccountIdentity[]
}

const duplicateError = (itemId: string) =>
  new ApiError(
    409,
    'this login is already linked: an Item at this institution has the same accounts',
    {},
    { item_id: itemId },
  )

const notSaved = () =>
  new ApiError(500, 'Failed to exchange public token: the linked account could not be saved; link it again')

/**
 * Exchanges Link's public token and stores the new Item with its accounts.
 *
 * Guarantees: one public token yields at most one Item (a claim row is taken before Plaid is
 * called); a user never holds two Items for one login, which Plaid defines as the same institution
 * with an account of the same name and mask (a second login at the same bank with other accounts
 * is linked). Link's metadata, when the frontend sends it, is checked before the exchange, so a
 * detected duplicate is never exchanged (Plaid's advice); the accounts Plaid returns are checked
 * again inside the write, which also settles concurrent links. A failure after Plaid issued an
 * access token removes that Item at Plaid again, so nothing is left half-linked or billed. If that
 * removal fails too (Plaid unreachable), the access token exists only in this request's memory and
 * is dropped with it: the Item is orphaned at Plaid, which the error log reports by item_id so an
 * operator can remove it in the Plaid Dashboard. A new Item's first sync is queued (item-sync-queue.ts).
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
  if (!claim.claimed) {
    const { existing } = claim
    if (existing.item_id === null) {
      throw new ApiError(409, 'this public token is being exchanged by another request; list items to see the result')
    }
    const item = await store.getItem(userId, existing.item_id)
    if (!item) throw new ApiError(409, 'this public token was already exchanged and its Item has since been removed')
    return { created: false, item: publicItem(item), accounts: await store.listAccounts(userId, item.item_id) }
  }

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
    await store.releasePublicToken(userId, hash)
    throw error
  }
  const { access_token: accessToken, item_id: itemId } = exchanged
  let stored: StoredItem
  let replacing = false
  // From here on, any failure (Plaid, D1, sealing) undoes the link at Plaid before it is thrown.
  let reason = 'accounts could not be fetched after the exchange'
  try {
    const accounts = await plaid.getAccounts(accessToken)
    const institutionId = accounts.item.institution_id ?? metadata.institution?.institution_id ?? null
    replacing = newItemReplacesOlder(institutionId)
    reason = 'the Item could not be saved'
    const savedAt = new Date().toISOString()
    const { sealed, keyId } = await sealAccessToken(config, userId, itemId, accessToken)
    stored = {
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
      access_token_sealed: sealed,
      access_token_key_id: keyId,
      created_at: savedAt,
      updated_at: savedAt,
    }
    let inserted: boolean
    try {
      // The index first: an Item stored but not indexed would never hear of its webhooks, while an
      // index row whose Item was not stored only makes a webhook find nothing (and is removed below).
      await indexItem(
        config.db,
        { item_id: itemId, user_id: userId, access_token_key_id: keyId },
        accounts.item.webhook,
        new Date(savedAt),
      )
      inserted = await store.insertLinkedItem(userId, stored, accounts.accounts, hash, replacing)
    } catch (error) {
      log('error', 'saving a linked item failed', { error: error instanceof Error ? error.message : 'unknown' })
      await unindexItem(config.db, userId, itemId).catch(() => {})
      throw notSaved()
    }
    if (!inserted) {
      await unindexItem(config.db, userId, itemId)
      // Refused as a duplicate (by the condition inside the write): name the Item it duplicates.
      const duplicate = institutionId ? await store.findDuplicateItem(userId, institutionId, accounts.accounts) : null
      if (!duplicate) throw notSaved()
      reason = 'the login was already linked'
      throw duplicateError(duplicate.item_id)
    }
  } catch (error) {
    await store.releasePublicToken(userId, hash).catch(() => {})
    await removeAtPlaid(ctx, accessToken, itemId, reason)
    throw error
  }
  // Stored: from here a failure must not undo the link (the Item is the user's now).
  await queueItemSync(ctx, itemId, 'linked')
  const linked = { created: true, item: publicItem(stored), accounts: await store.listAccounts(userId, itemId) }
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

async function removeAtPlaid({ plaid, log }: ServiceContext, accessToken: string, itemId: string, reason: string) {
  try {
    await plaid.removeItem(accessToken)
    log('warn', 'removed a newly linked item at Plaid', { item_id: itemId, reason })
  } catch (error) {
    log('error', 'orphaned Plaid item: remove it in the Plaid Dashboard', {
      item_id: itemId,
      reason,
      error: error instanceof Error ? error.name : 'unknown',
    })
  }
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

/** Whether the error is one only the user can fix (through update mode). */
export function needsUser(error: unknown): error is PlaidApiError {
  return error instanceof PlaidApiError && statusForError(error.errorCode) !== 'good'
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
