/**
 * Keeps an Item's transactions current with Plaid's /transactions/sync: page until `has_more`
 * is false, then write every change and the new cursor at once (store/transactions.ts).
 *
 * Safe to run twice or concurrently for one Item (a webhook and a manual sync): each run writes
 * only if the cursor is still the one it started from; a run that lost the race starts again
 * from the winner's cursor, so nothing is duplicated, lost or brought back.
 */
import type { ServiceContext } from '../context'
import type { PlaidClient } from '../plaid/client'
import { PlaidApiError } from '../plaid/errors'
import type { PlaidTransaction } from '../plaid/types'
import type { StoredItem } from '../store/items'
import { userStore } from '../store/users'
import { openAccessToken } from './access-token'
import { recordItemError } from './linking'

/** Plaid's maximum page size: fewer round trips for large histories. */
const PAGE_SIZE = 500
/** Restarts after TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION before giving up (to be retried later). */
const MAX_PAGINATION_RESTARTS = 3
/** Times to start over after losing the cursor race to another sync. */
const MAX_RACE_RETRIES = 3

export type SyncResult = { added: number; modified: number; removed: number; status: 'synced' | 'not_ready' }

export class SyncRaceError extends Error {
  override name = 'SyncRaceError'
  constructor() {
    super('other syncs of this item kept moving its cursor; try again')
  }
}

type Changes = { upserts: Map<string, PlaidTransaction>; removed: Set<string>; added: number; modified: number }

export async function syncItem({ config, plaid, log }: ServiceContext, item: StoredItem): Promise<SyncResult> {
  const accessToken = await openAccessToken(config, item)
  const store = userStore(config, item.user_id)
  let current: StoredItem | null = item
  for (let attempt = 0; attempt <= MAX_RACE_RETRIES && current; attempt++) {
    const start = current.transactions_cursor ?? null
    let pulled: { changes: Changes; nextCursor: string }
    try {
      pulled = await pullChanges(plaid, accessToken, start)
    } catch (error) {
      await recordItemError(config, item, error)
      throw error
    }
    const { changes, nextCursor } = pulled
    // An empty cursor means Plaid has no data for this Item yet: nothing to store, not an error.
    if (nextCursor === '') return { added: 0, modified: 0, removed: 0, status: 'not_ready' }
    const won = await store.applySync(item.user_id, {
      itemId: item.item_id,
      startCursor: start,
      nextCursor,
      upserts: [...changes.upserts.values()],
      removedIds: [...changes.removed],
      now: new Date().toISOString(),
    })
    if (won) {
      return { added: changes.added, modified: changes.modified, removed: changes.removed.size, status: 'synced' }
    }
    log('info', 'sync lost the cursor race; starting again from the new cursor', { item_id: item.item_id })
    current = await store.getItem(item.user_id, item.item_id)
  }
  if (!current) return { added: 0, modified: 0, removed: 0, status: 'synced' } // removed meanwhile
  throw new SyncRaceError()
}

/** Pages from `start` to the end, folding pages in order so later changes win. */
async function pullChanges(
  plaid: PlaidClient,
  accessToken: string,
  start: string | null,
): Promise<{ changes: Changes; nextCursor: string }> {
  for (let restart = 0; ; restart++) {
    const changes: Changes = { upserts: new Map(), removed: new Set(), added: 0, modified: 0 }
    let cursor = start
    try {
      for (;;) {
        const page = await plaid.syncTransactions(accessToken, cursor, PAGE_SIZE)
        for (const t of page.added) fold(changes, t, 'added')
        for (const t of page.modified) fold(changes, t, 'modified')
        for (const { transaction_id } of page.removed) {
          changes.upserts.delete(transaction_id)
          changes.removed.add(transaction_id)
        }
        cursor = page.next_cursor
        if (!page.has_more) return { changes, nextCursor: cursor }
      }
    } catch (error) {
      // Plaid's data changed under us: the pages so far are inconsistent; start over (Plaid's advice).
      const mutated =
        error instanceof PlaidApiError && error.errorCode === 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION'
      if (!mutated || restart >= MAX_PAGINATION_RESTARTS) throw error
    }
  }
}

function fold(changes: Changes, transaction: PlaidTransaction, kind: 'added' | 'modified') {
  changes.upserts.set(transaction.transaction_id, transaction)
  changes.removed.delete(transaction.transaction_id)
  changes[kind]++
}
