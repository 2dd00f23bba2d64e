/**
 * Live balances for several Items at once (`GET /accounts?refresh=true`). Each Item is checked
 * at most once per cooldown (store/balance-refresh-claims.ts); within it, the balances stored by
 * the last check (seconds old) stand. Items are checked side by side and each outcome is kept on
 * its own: one bank failing does not hide the balances the others returned (and Plaid billed).
 */
import type { ServiceContext } from '../context'
import type { StoredItem } from '../store/items'
import { userStore } from '../store/user-store'
import { refreshBalances } from './items'

export type BalanceRefreshOutcome =
  | { item_id: string; outcome: 'refreshed' }
  /** Checked less than a cooldown ago: the stored balances are that check's. */
  | { item_id: string; outcome: 'cooling_down'; retry_after_seconds: number }
  | { item_id: string; outcome: 'failed'; error: Error }

/** Refreshes the balances of `only`, or else of every Item of the user; one outcome per Item. */
export async function refreshBalancesOf(
  ctx: ServiceContext,
  userId: string,
  only?: StoredItem,
): Promise<BalanceRefreshOutcome[]> {
  const items = only ? [only] : await userStore(ctx.config, userId).listStoredItems(userId)
  const now = new Date()
  const outcomes = await Promise.all(
    items.map(async (item): Promise<BalanceRefreshOutcome | null> => {
      try {
        const claim = await userStore(ctx.config, item.user_id).claimBalanceRefresh(item.user_id, item.item_id, now)
        if (claim === null) return null // removed meanwhile
        if (!claim.claimed) {
          return {
            item_id: item.item_id,
            outcome: 'cooling_down',
            retry_after_seconds: Math.max(1, Math.ceil(claim.retryAfterMs / 1000)),
          }
        }
        await refreshBalances(ctx, item)
        return { item_id: item.item_id, outcome: 'refreshed' }
      } catch (error) {
        return {
          item_id: item.item_id,
          outcome: 'failed',
          error: error instanceof Error ? error : new Error(String(error)),
        }
      }
    }),
  )
  return outcomes.filter((o): o is BalanceRefreshOutcome => o !== null)
}
