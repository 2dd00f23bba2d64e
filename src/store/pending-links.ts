/**
 * Links Plaid has exchanged but this API has not finished storing. The exchange's access token
 * exists only in the request's memory until the Item is stored, and Cloudflare cancels a request's
 * work when its client goes away; so right after Plaid's exchange the sealed token is written here,
 * in one call, and the write that stores the Item deletes it. One left behind belongs to a request
 * that died: after a grace period it is finished (or removed at Plaid) from the background
 * (services/pending-links.ts), so no Item Plaid bills is known nowhere.
 */

export type PendingLink = {
  item_id: string
  public_token_hash: string
  access_token_sealed: string
  access_token_key_id: string
  /** What Link's metadata named, for an Item Plaid reports without an institution. */
  institution_id: string | null
  institution_name: string | null
  created_at: string
}

/**
 * Longer than any exchange request can take (Plaid's timeouts and retries included). The default
 * of PENDING_LINK_GRACE_SECONDS (src/config), which tests may shorten.
 */
export const PENDING_LINK_GRACE_MS = 5 * 60_000

/** Records the pending link, and gives the public token's claim its Item (a replay then waits for it). */
export function recordPendingLink(sql: SqlStorage, link: PendingLink): void {
  sql.exec(
    `INSERT INTO pending_links (item_id, public_token_hash, access_token_sealed, access_token_key_id,
       institution_id, institution_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (item_id) DO NOTHING`,
    link.item_id,
    link.public_token_hash,
    link.access_token_sealed,
    link.access_token_key_id,
    link.institution_id,
    link.institution_name,
    link.created_at,
  )
  sql.exec(
    'UPDATE public_token_exchanges SET item_id = ? WHERE public_token_hash = ?',
    link.item_id,
    link.public_token_hash,
  )
}

/**
 * Forgets the pending link (it was stored, or removed at Plaid). With `releaseClaim`, its public
 * token's claim goes too, as for any exchange that failed: presented again, the token reaches
 * Plaid, which says it is spent.
 */
export function dropPendingLink(sql: SqlStorage, itemId: string, releaseClaim = false): void {
  sql.exec('DELETE FROM pending_links WHERE item_id = ?', itemId)
  if (releaseClaim) {
    sql.exec(
      'DELETE FROM public_token_exchanges WHERE item_id = ?1 AND NOT EXISTS (SELECT 1 FROM items WHERE item_id = ?1)',
      itemId,
    )
  }
}

export function findPendingLink(sql: SqlStorage, itemId: string): PendingLink | null {
  return sql.exec<PendingLink>('SELECT * FROM pending_links WHERE item_id = ?', itemId).toArray()[0] ?? null
}

/** Pending links recorded before `cutoff` (ISO time; all of them without one), oldest first. */
export function pendingLinksBefore(sql: SqlStorage, cutoff?: string): PendingLink[] {
  if (cutoff === undefined) {
    return sql.exec<PendingLink>('SELECT * FROM pending_links ORDER BY created_at, item_id').toArray()
  }
  return sql
    .exec<PendingLink>('SELECT * FROM pending_links WHERE created_at < ? ORDER BY created_at, item_id', cutoff)
    .toArray()
}

export const hasPendingLinks = (sql: SqlStorage): boolean =>
  sql.exec('SELECT 1 FROM pending_links LIMIT 1').toArray().length > 0
