/**
 * Claims on public tokens, so that exchanging the same token twice (a double-click, a retried
 * request, two tabs) reaches Plaid once. Rows are keyed by the token's SHA-256: the token is a
 * credential and is not stored. The claim itself lives in the user's object; which user a token
 * went to is also kept globally (token-owners.ts), for the rare other user presenting it.
 */
import { sha256Hex } from '../crypto/hash'

export type Claim = { item_id: string | null; claimed_at: string }

export type ClaimResult = { claimed: true } | { claimed: false; existing: Claim }

/** A claim older than this belongs to a request that died; another request may take it over. */
const STALE_AFTER_MS = 2 * 60_000

export const hashPublicToken = (publicToken: string): Promise<string> => sha256Hex(publicToken)

/** Claims the token for this request; answers the existing claim when another request holds it. */
export function claimPublicToken(sql: SqlStorage, hash: string, now: Date): ClaimResult {
  const inserted = sql.exec(
    `INSERT INTO public_token_exchanges (public_token_hash, item_id, claimed_at)
     VALUES (?, NULL, ?) ON CONFLICT (public_token_hash) DO NOTHING`,
    hash,
    now.toISOString(),
  ).rowsWritten
  if (inserted > 0) return { claimed: true }

  const existing = sql
    .exec<Claim>('SELECT item_id, claimed_at FROM public_token_exchanges WHERE public_token_hash = ?', hash)
    .one()
  const stale = existing.item_id === null && now.getTime() - Date.parse(existing.claimed_at) > STALE_AFTER_MS
  if (stale) {
    // The object runs one call at a time, so taking over needs no compare-and-set.
    sql.exec('UPDATE public_token_exchanges SET claimed_at = ? WHERE public_token_hash = ?', now.toISOString(), hash)
    return { claimed: true }
  }
  return { claimed: false, existing }
}

/** Gives up a claim whose exchange failed, so the user can try again. */
export function releasePublicToken(sql: SqlStorage, hash: string): void {
  sql.exec('DELETE FROM public_token_exchanges WHERE public_token_hash = ? AND item_id IS NULL', hash)
}
