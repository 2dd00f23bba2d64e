import { tokenCipher } from '../crypto/token-cipher'
import type { Config } from '../env'
import type { StoredItem } from '../store/items'

/** What binds a sealed access token to its row: it opens only for this user's Item. */
export const tokenContext = (userId: string, itemId: string) => `plaid-access-token|${userId}|${itemId}`

export async function sealAccessToken(config: Config, userId: string, itemId: string, accessToken: string) {
  const cipher = await tokenCipher(config.tokenKeys)
  return cipher.seal(accessToken, tokenContext(userId, itemId))
}

export async function openAccessToken(config: Config, item: StoredItem): Promise<string> {
  const cipher = await tokenCipher(config.tokenKeys)
  return cipher.open(item.access_token_sealed, item.access_token_key_id, tokenContext(item.user_id, item.item_id))
}
