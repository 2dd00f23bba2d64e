/**
 * The per-Item cooldown of live balance checks. Plaid allows 5 `/accounts/balance/get` calls per
 * Item per minute (plaid.com/docs/errors/rate-limit-exceeded), so one call per Item every 12 s
 * never meets that limit, however often or concurrently users press "refresh". The claim is
 * taken in the user's object before Plaid is called, so two concurrent refreshes cannot both pass.
 */

/** 60 s / 5 calls: the spacing at which Plaid's per-Item balance limit is never reached. */
export const BALANCE_REFRESH_COOLDOWN_MS = 12_000

export type BalanceRefreshClaim = { claimed: true } | { claimed: false; retryAfterMs: number }

/**
 * Takes the Item's next live balance check at `now`, or says how long until one is allowed; null
 * when the Item is not stored (removed meanwhile).
 */
export function claimBalanceRefresh(sql: SqlStorage, itemId: string, now: Date): BalanceRefreshClaim | null {
  const claimed = sql.exec(
    `UPDATE items SET balances_refresh_claimed_at = ?2
     WHERE item_id = ?1 AND (balances_refresh_claimed_at IS NULL OR balances_refresh_claimed_at <= ?3)`,
    itemId,
    now.toISOString(),
    new Date(now.getTime() - BALANCE_REFRESH_COOLDOWN_MS).toISOString(),
  ).rowsWritten
  if (claimed) return { claimed: true }
  const last = sql
    .exec<{ at: string | null }>('SELECT balances_refresh_claimed_at AS at FROM items WHERE item_id = ?', itemId)
    .toArray()[0]?.at
  if (!last) return null
  return { claimed: false, retryAfterMs: Date.parse(last) + BALANCE_REFRESH_COOLDOWN_MS - now.getTime() }
}
