import { type TokenCipher, tokenCipher } from '../crypto/token-cipher'
import type { Config } from '../env'
import { type IndexedItem, listItemsSealedWith, setIndexedKey, unindexItem } from '../store/item-index'
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

/**
 * Re-seals up to `limit` tokens still sealed under a key in TOKEN_ENCRYPTION_KEYS_OLD (Items
 * nobody used since the rotation), found through the D1 index; only objects the index names are
 * touched. Answers how many moved and how many could not be (a token failing its integrity check,
 * or its object or D1 failing); each Item on its own, so one failing holds up no other. Once a
 * run finds none, the old keys can be removed from TOKEN_ENCRYPTION_KEYS_OLD.
 */
export async function resealOldAccessTokens(
  config: Config,
  limit = 200,
): Promise<{ resealed: number; failed: number }> {
  const cipher = await tokenCipher(config.tokenKeys)
  const stale = await listItemsSealedWith(config.db, cipher.oldKeyIds, limit)
  let resealed = 0
  let failed = 0
  for (const entry of stale) {
    try {
      if (await resealEntry(config, cipher, entry)) resealed++
    } catch {
      // A damaged row is the operator's to look at (counted), not a reason to stop the sweep.
      failed++
    }
  }
  return { resealed, failed }
}

/** Re-seals one indexed Item's token under the current key; answers whether this call did. */
async function resealEntry(config: Config, cipher: TokenCipher, entry: IndexedItem): Promise<boolean> {
  // Not yet moved into an object: re-sealed after the user's return moves the row (see awaitsMove).
  if (await awaitsMove(config.db, entry.user_id)) return false
  const item = await userStore(config, entry.user_id).getItem(entry.user_id, entry.item_id)
  // An index row whose Item is gone (an exchange that failed after indexing) goes too.
  if (!item) {
    await unindexItem(config.db, entry.user_id, entry.item_id)
    return false
  }
  // The object's key id is the truth; the index lagged behind an earlier re-seal.
  if (item.access_token_key_id !== entry.access_token_key_id) {
    await setIndexedKey(config.db, item.item_id, item.access_token_key_id)
    return false
  }
  const context = tokenContext(item.user_id, item.item_id)
  const accessToken = await cipher.open(item.access_token_sealed, item.access_token_key_id, context)
  // false: another isolate re-sealed the row first, which is just as good.
  return replaceSealedToken(config, item, await cipher.seal(accessToken, context))
}
