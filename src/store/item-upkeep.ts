/**
 * The columns of the D1 index the hourly cron reads to keep Items healthy (migrations/0008): where
 * each Item's webhooks go, and when it last synced. Kept in the index so that finding the few
 * Items that need something costs one D1 query, not a call to every user's object. Times are Unix
 * seconds.
 */

/** How long an Item may go without a finished sync before the cron queues one; also the wait after a failed webhook update. */
export const UPKEEP_INTERVAL_SECONDS = 24 * 3600

export type UpkeepEntry = { item_id: string; user_id: string }

export const unixSeconds = (time: Date) => Math.floor(time.getTime() / 1000)

/**
 * Items whose webhook URL at Plaid is not `url` as far as this API knows (none, another, or not
 * known), and not tried in the last day; never-tried ones first, so Items that keep failing wait
 * behind the others instead of filling every run.
 */
export async function listItemsWithOtherWebhook(
  db: D1Database,
  url: string,
  now: Date,
  limit: number,
): Promise<UpkeepEntry[]> {
  const { results } = await db
    .prepare(
      `SELECT item_id, user_id FROM item_index
       WHERE webhook_url IS NOT ?1 AND (webhook_tried_at IS NULL OR webhook_tried_at <= ?2)
       ORDER BY webhook_tried_at, item_id LIMIT ?3`,
    )
    .bind(url, unixSeconds(now) - UPKEEP_INTERVAL_SECONDS, limit)
    .all<UpkeepEntry>()
  return results
}

/** Records a /item/webhook/update attempt; `url` is the Item's webhook as Plaid answered, when it answered. */
export async function recordWebhookTry(db: D1Database, itemId: string, now: Date, url?: string | null) {
  await db
    .prepare(
      `UPDATE item_index SET webhook_tried_at = ?1, webhook_url = CASE WHEN ?2 THEN ?3 ELSE webhook_url END
       WHERE item_id = ?4`,
    )
    .bind(unixSeconds(now), url !== undefined ? 1 : 0, url ?? null, itemId)
    .run()
}

/** Records a finished sync: the next fallback sync is due a day later. */
export async function recordSynced(db: D1Database, itemId: string, now: Date): Promise<void> {
  const at = unixSeconds(now)
  await db
    .prepare('UPDATE item_index SET synced_at = ?, sync_due_at = ? WHERE item_id = ?')
    .bind(at, at + UPKEEP_INTERVAL_SECONDS, itemId)
    .run()
}

/** Items with no finished sync (and no sync queued by the cron) for a day, the longest waiting first. */
export async function listItemsDueForSync(db: D1Database, now: Date, limit: number): Promise<UpkeepEntry[]> {
  const { results } = await db
    .prepare('SELECT item_id, user_id FROM item_index WHERE sync_due_at <= ? ORDER BY sync_due_at, item_id LIMIT ?')
    .bind(unixSeconds(now), limit)
    .all<UpkeepEntry>()
  return results
}

/** The cron has dealt with these Items' syncs: they are due again a day from now unless one finishes first. */
export async function postponeSyncs(db: D1Database, itemIds: string[], now: Date): Promise<void> {
  if (itemIds.length === 0) return
  await db
    .prepare('UPDATE item_index SET sync_due_at = ? WHERE item_id IN (SELECT value FROM json_each(?))')
    .bind(unixSeconds(now) + UPKEEP_INTERVAL_SECONDS, JSON.stringify(itemIds))
    .run()
}
