/**
 * Claims on public tokens, so that exchanging the same token twice (a double-click, a retried
 * request, two tabs) reaches Plaid once. Rows are keyed by the token's SHA-256: the token is a
 * credential and is not stored.
 */
import { sha256Hex } from '../crypto/hash'

export type Claim = { user_id: string; item_id: string | null; claimed_at: string }

/** A claim older than this belongs to a request that died; another request may take it over. */
const STALE_AFTER_MS = 2 * 60_000

export const hashPublicToken = (publicToken: string): Promise<string> => sha256Hex(publicToken)

/** Claims the token for this request; answers the existing claim when another request holds it. */
export async function claimPublicToken(
  db: D1Database,
  hash: string,
  userId: string,
  now: Date,
): Promise<{ claimed: true } | { claimed: false; existing: Claim }> {
  const inserted = await db
    .prepare(
      `INSERT INTO public_token_exchanges (public_token_hash, user_id, item_id, claimed_at)
       VALUES (?, ?, NULL, ?) ON CONFLICT (public_token_hash) DO NOTHING`,
    )
    .bind(hash, userId, now.toISOString())
    .run()
  if (inserted.meta.changes === 1) return { claimed: true }

  const existing = await db
    .prepare('SELECT user_id, item_id, claimed_at FROM public_token_exchanges WHERE public_token_hash = ?')
    .bind(hash)
    .first<Claim>()
  if (!existing) return claimPublicToken(db, hash, userId, now)
  const stale = existing.item_id === null && now.getTime() - Date.parse(existing.claimed_at) > STALE_AFTER_MS
  if (stale && existing.user_id === userId) {
    // Compare-and-set on claimed_at: of several requests taking over, exactly one wins.
    const taken = await db
      .prepare(
        `UPDATE public_token_exchanges SET claimed_at = ?
         WHERE public_token_hash = ? AND item_id IS NULL AND claimed_at = ?`,
      )
      .bind(now.toISOString(), hash, existing.claimed_at)
      .run()
    if (taken.meta.changes === 1) return { claimed: true }
  }
  return { claimed: false, existing }
}

/** Gives up a claim whose exchange failed, so the user can try again. */
export async function releasePublicToken(db: D1Database, hash: string, userId: string): Promise<void> {
  await db
    .prepare('DELETE FROM public_token_exchanges WHERE public_token_hash = ? AND user_id = ? AND item_id IS NULL')
    .bind(hash, userId)
    .run()
}
