/**
 * Key rotation for sealed access tokens: finding rows still sealed under an old key and
 * swapping in a value sealed under the current one. The swap is conditional on the old key id,
 * so two isolates re-sealing the same row at once leave one valid value, never a mix.
 */
import type { StoredItem } from './items'

export async function replaceSealedToken(
  db: D1Database,
  item: Pick<StoredItem, 'user_id' | 'item_id' | 'access_token_key_id'>,
  sealed: { sealed: string; keyId: string },
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE items SET access_token_sealed = ?, access_token_key_id = ?
       WHERE user_id = ? AND item_id = ? AND access_token_key_id = ?`,
    )
    .bind(sealed.sealed, sealed.keyId, item.user_id, item.item_id, item.access_token_key_id)
    .run()
  return result.meta.changes === 1
}

/** Items whose token is sealed under one of `keyIds`, oldest first. */
export async function listItemsSealedWith(db: D1Database, keyIds: string[], limit: number): Promise<StoredItem[]> {
  if (keyIds.length === 0) return []
  const { results } = await db
    .prepare(
      `SELECT * FROM items WHERE access_token_key_id IN (${keyIds.map(() => '?').join(', ')})
       ORDER BY created_at LIMIT ?`,
    )
    .bind(...keyIds, limit)
    .all<StoredItem>()
  return results
}
