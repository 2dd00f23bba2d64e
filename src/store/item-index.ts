/**
 * The global index in D1: what must be found without knowing the user. Everything else about an
 * Item is in its user's object. See migrations/0006_user_objects_index.sql.
 */

import { UPKEEP_INTERVAL_SECONDS, unixSeconds } from './item-upkeep'

export type IndexedItem = { item_id: string; user_id: string; access_token_key_id: string }

/**
 * Written before the Item is stored in the user's object (which exists by then: it holds the claim),
 * with the webhook URL Plaid reported for the Item (so the cron leaves it alone when that is
 * PLAID_WEBHOOK_URL). Its first sync is being queued, so the cron's fallback sync is due a day later.
 */
export async function indexItem(db: D1Database, entry: IndexedItem, webhookUrl: string | null, now: Date) {
  await db
    .prepare(
      // Plaid never gives an item_id twice; a row already there stays as it is.
      `INSERT INTO item_index (item_id, user_id, access_token_key_id, webhook_url, sync_due_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    )
    .bind(
      entry.item_id,
      entry.user_id,
      entry.access_token_key_id,
      webhookUrl,
      unixSeconds(now) + UPKEEP_INTERVAL_SECONDS,
    )
    .run()
}

/** Whose Item this is, for a webhook, which names only the Item. */
export async function findItemOwner(db: D1Database, itemId: string): Promise<string | null> {
  const row = await db
    .prepare('SELECT user_id FROM item_index WHERE item_id = ?')
    .bind(itemId)
    .first<{ user_id: string }>()
  return row?.user_id ?? null
}

export async function unindexItem(db: D1Database, userId: string, itemId: string): Promise<void> {
  await db.prepare('DELETE FROM item_index WHERE item_id = ? AND user_id = ?').bind(itemId, userId).run()
}

/** Records the key the object now seals the Item's token with (the object's copy is the truth). */
export async function setIndexedKey(db: D1Database, itemId: string, keyId: string): Promise<void> {
  await db.prepare('UPDATE item_index SET access_token_key_id = ? WHERE item_id = ?').bind(keyId, itemId).run()
}

/** Items whose token is sealed under one of `keyIds`, in item_id order after `after`. */
export async function listItemsSealedWith(
  db: D1Database,
  keyIds: string[],
  after: string,
  limit: number,
): Promise<IndexedItem[]> {
  if (keyIds.length === 0) return []
  const { results } = await db
    .prepare(
      `SELECT item_id, user_id, access_token_key_id FROM item_index
       WHERE access_token_key_id IN (SELECT value FROM json_each(?1)) AND item_id > ?2 ORDER BY item_id LIMIT ?3`,
    )
    .bind(JSON.stringify(keyIds), after, limit)
    .all<IndexedItem>()
  return results
}

/** How many indexed Items each of `keyIds` still seals (0 for a key that seals none). */
export async function countItemsSealedWith(db: D1Database, keyIds: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(keyIds.map((keyId) => [keyId, 0]))
  if (keyIds.length === 0) return counts
  const { results } = await db
    .prepare(
      `SELECT access_token_key_id AS key_id, COUNT(*) AS items FROM item_index
       WHERE access_token_key_id IN (SELECT value FROM json_each(?)) GROUP BY access_token_key_id`,
    )
    .bind(JSON.stringify(keyIds))
    .all<{ key_id: string; items: number }>()
  for (const { key_id, items } of results) counts[key_id] = items
  return counts
}
