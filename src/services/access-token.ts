import type { Config } from '../config'
import type { ServiceContext } from '../context'
import { type TokenCipher, tokenCipher } from '../crypto/token-cipher'
import { nextPosition, readCursor, saveCursor } from '../store/cron-cursors'
import {
  countItemsSealedWith,
  type IndexedItem,
  listItemsSealedWith,
  setIndexedKey,
  unindexItem,
} from '../store/item-index'
import type { StoredItem } from '../store/items'
import { awaitsMove } from '../store/legacy-import'
import { userStore } from '../store/users'

/** What binds a sealed access token to its row: it opens only for this user's Item. */
export const tokenContext = (userId: string, itemId: string) => `plaid-access-token|${userId}|${itemId}`

export async function sealAccessToken(config: Config, userId: string, itemId: string, accessToken: string) {
  const cipher = await tokenCipher(config.tokenKeys)
  return cipher.seal(accessToken, tokenContext(userId, itemId))
}

/**
 * Swaps the Item's sealed token in its object (only if still sealed under the old key), then
 * tells the index, which the hourly re-seal reads. Answers whether this call made the swap.
 */
async function replaceSealedToken(config: Config, item: StoredItem, sealed: { sealed: string; keyId: string }) {
  const swapped = await userStore(config, item.user_id).replaceSealedToken(
    item.user_id,
    item.item_id,
    item.access_token_key_id,
    sealed,
  )
  await setIndexedKey(config.db, item.item_id, sealed.keyId)
  return swapped
}

/** Opens a token sealed for the user's Item, as it is (a pending link's: no stored row to re-seal). */
export async function openSealedToken(
  config: Config,
  userId: string,
  itemId: string,
  sealed: { sealed: string; keyId: string },
): Promise<string> {
  const cipher = await tokenCipher(config.tokenKeys)
  return cipher.open(sealed.sealed, sealed.keyId, tokenContext(userId, itemId))
}

/**
 * Opens the Item's access token. A token still sealed under an old key is re-sealed under the
 * current one on the way, so that after a rotation every Item in use moves to the new key and
 * the old one can eventually be dropped from TOKEN_ENCRYPTION_KEYS_OLD.
 */
export async function openAccessToken(config: Config, item: StoredItem): Promise<string> {
  const cipher = await tokenCipher(config.tokenKeys)
  const context = tokenContext(item.user_id, item.item_id)
  const accessToken = await cipher.open(item.access_token_sealed, item.access_token_key_id, context)
  if (item.access_token_key_id !== cipher.currentKeyId) {
    // Best effort: the old sealed value stays valid, so a failed write loses nothing.
    await replaceSealedToken(config, item, await cipher.seal(accessToken, context)).catch(() => false)
  }
  return accessToken
}

/** Items the re-seal takes per run: a D1 read and a call to the Item's object each. */
export const RESEALS_PER_RUN = 200

export type ResealReport = {
  resealed: number
  /** Users of an earlier release whose rows are not in their object yet: re-sealed once moved. */
  awaiting_move: number
  /** Index rows corrected instead (the Item gone, or re-sealed already by its use). */
  corrected: number
  failed: number
  /** Items each old key id still seals, after this run: a key with 0 can be retired. */
  left: Record<string, number>
  /** The run reached the last Item under an old key: the next one starts again from the first. */
  round_done: boolean
}

/**
 * Re-seals tokens still sealed under a key in TOKEN_ENCRYPTION_KEYS_OLD (Items nobody used since
 * the rotation), found through the D1 index; only objects the index names are touched. Each run
 * takes up to `limit` Items in item_id order after where the last run stopped (cron_cursors), so
 * Items it cannot re-seal yet (users not moved, damaged tokens) never fill every run; each Item on
 * its own, so one failing holds up no other. Answers what it did and what is left per old key.
 */
export async function resealOldAccessTokens(
  { config, log }: ServiceContext,
  now: Date,
  limit = RESEALS_PER_RUN,
): Promise<ResealReport | null> {
  const cipher = await tokenCipher(config.tokenKeys)
  if (cipher.oldKeyIds.length === 0) return null
  const after = await readCursor(config.db, 're-seal access tokens')
  const stale = await listItemsSealedWith(config.db, cipher.oldKeyIds, after, limit)
  const counts = { resealed: 0, awaiting_move: 0, corrected: 0, failed: 0 }
  for (const entry of stale) {
    try {
      counts[await resealEntry(config, cipher, entry)]++
    } catch (error) {
      // A damaged row is the operator's to look at (counted and named), not a reason to stop the sweep.
      counts.failed++
      log('error', 'access token not re-sealed; tried again next round', {
        item_id: entry.item_id,
        key_id: entry.access_token_key_id,
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
  }
  const position = nextPosition(
    stale.map((entry) => entry.item_id),
    limit,
  )
  await saveCursor(config.db, 're-seal access tokens', position, now)
  return { ...counts, left: await countItemsSealedWith(config.db, cipher.oldKeyIds), round_done: position === '' }
}

type ResealOutcome = 'resealed' | 'awaiting_move' | 'corrected'

/** Re-seals one indexed Item's token under the current key, or says why it did not. */
async function resealEntry(config: Config, cipher: TokenCipher, entry: IndexedItem): Promise<ResealOutcome> {
  // Not yet moved into an object: re-sealed after the user's return moves the row (see awaitsMove).
  if (await awaitsMove(config.db, entry.user_id)) return 'awaiting_move'
  const item = await userStore(config, entry.user_id).getItem(entry.user_id, entry.item_id)
  // An index row whose Item is gone (an exchange that failed after indexing) goes too.
  if (!item) {
    await unindexItem(config.db, entry.user_id, entry.item_id)
    return 'corrected'
  }
  // The object's key id is the truth; the index lagged behind an earlier re-seal.
  if (item.access_token_key_id !== entry.access_token_key_id) {
    await setIndexedKey(config.db, item.item_id, item.access_token_key_id)
    return 'corrected'
  }
  const context = tokenContext(item.user_id, item.item_id)
  const accessToken = await cipher.open(item.access_token_sealed, item.access_token_key_id, context)
  // false: another isolate re-sealed the row first, which is just as good.
  return (await replaceSealedToken(config, item, await cipher.seal(accessToken, context))) ? 'resealed' : 'corrected'
}
