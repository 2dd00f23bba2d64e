/**
 * Keeps an Item's transactions current with Plaid's /transactions/sync: page until `has_more`
 * is false, staging each page in the user's object as it arrives, then apply the staging in parts
 * of bounded size, the new cursor with the last (store/sync-staging.ts). One page is in memory at
 * a time, whatever the Item's history.
 *
 * Safe to run twice or concurrently for one Item (a webhook and a manual sync): a run applies
 * only if the cursor is still the one it started from and no other run is applying; a run that
 * lost the race starts again from the winner's cursor, so nothing is duplicated, lost or brought
 * back. An apply that stopped part-way (its request ended, a part failed) is finished by the
 * Item's next sync, from its own staging, before that sync pages Plaid.
 */
import type { ServiceContext } from '../context'
import type { PlaidClient } from '../plaid/client'
import { PlaidApiError, SYNC_MUTATION } from '../plaid/errors'
import { recordSynced } from '../store/item-upkeep'
import type { StoredItem } from '../store/items'
import type { SyncOutcome, SyncRun } from '../store/sync-staging'
import { type UserStoreStub, userStore } from '../store/user-store'
import { openAccessToken } from './access-token'
import { recordItemError } from './items'

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

type Counts = Pick<SyncResult, 'added' | 'modified' | 'removed'>
const NO_CHANGES: Counts = { added: 0, modified: 0, removed: 0 }
const SYNCED_NOTHING: SyncResult = { ...NO_CHANGES, status: 'synced' }
const plus = (a: Counts, b: Counts): Counts => ({
  added: a.added + b.added,
  modified: a.modified + b.modified,
  removed: a.removed + b.removed,
})

export async function syncItem({ config, plaid, log }: ServiceContext, item: StoredItem): Promise<SyncResult> {
  const accessToken = await openAccessToken(config, item)
  const userId = item.user_id
  const store = userStore(config, userId)
  const logged = { item_id: item.item_id }
  /** What finishing other syncs' applies changed: this sync's answer includes it. */
  let resumed = NO_CHANGES
  for (let attempt = 0; attempt <= MAX_RACE_RETRIES; attempt++) {
    let run = await store.beginSync(userId, item.item_id)
    while (run?.applying) {
      log('info', 'sync finishing the apply of an earlier sync of the item first', logged)
      const { outcome } = await applyRest(store, userId, run.syncId, { status: 'applying' }, new Date().toISOString())
      if (outcome.status === 'applied') resumed = plus(resumed, outcome)
      run = await store.beginSync(userId, item.item_id)
    }
    if (!run) return SYNCED_NOTHING // removed meanwhile
    let nextCursor: string
    try {
      nextCursor = await pullChanges(plaid, accessToken, store, userId, run)
    } catch (error) {
      await store.dropSync(userId, run.syncId).catch(() => {})
      await recordItemError(config, item, error)
      throw error
    }
    // An empty cursor means Plaid has no data for this Item yet: nothing to store, not an error.
    if (nextCursor === '') {
      await store.dropSync(userId, run.syncId)
      return { ...SYNCED_NOTHING, ...resumed, status: 'not_ready' }
    }
    const finishedAt = new Date().toISOString()
    const first = await store.finishSync(userId, run.syncId, nextCursor, finishedAt)
    if (first.status === 'applying') log('info', 'sync applying its staged changes in parts', logged)
    // A part that fails leaves the run applying, for the Item's next sync (or the queue's retry) to finish.
    const { outcome, parts } = await applyRest(store, userId, run.syncId, first, finishedAt)
    if (parts > 0) log('info', 'sync applied in parts', { ...logged, parts: parts + 1, status: outcome.status })
    if (outcome.status === 'applied') {
      // Puts off the cron's fallback sync by a day; a lost write only brings that sync sooner.
      await recordSynced(config.db, item.item_id, new Date(finishedAt)).catch((error: unknown) =>
        log('warn', 'finished sync not recorded in the index', {
          ...logged,
          error: error instanceof Error ? error.name : 'unknown',
        }),
      )
      return { ...plus(resumed, outcome), status: 'synced' }
    }
    log('info', 'sync lost the cursor race; starting again from the new cursor', logged)
  }
  throw new SyncRaceError()
}

/**
 * Applies the run's remaining parts, one object call each, from the outcome of the last call;
 * answers the final outcome and the calls it made.
 */
async function applyRest(store: UserStoreStub, userId: string, syncId: string, from: SyncOutcome, now: string) {
  let outcome = from
  let parts = 0
  for (; outcome.status === 'applying'; parts++) outcome = await store.applySyncPart(userId, syncId, now)
  return { outcome, parts }
}

/** Pages from the run's starting cursor to the end, staging each page; answers the last cursor. */
async function pullChanges(
  plaid: PlaidClient,
  accessToken: string,
  store: UserStoreStub,
  userId: string,
  run: SyncRun,
): Promise<string> {
  for (let restart = 0; ; restart++) {
    let cursor = run.startCursor
    try {
      for (;;) {
        const page = await plaid.syncTransactions(accessToken, cursor, PAGE_SIZE)
        await store.stageSyncPage(userId, run.syncId, {
          added: page.added,
          modified: page.modified,
          removedIds: page.removed.map((r) => r.transaction_id),
          accounts: page.accounts,
          seenAt: new Date().toISOString(),
        })
        cursor = page.next_cursor
        if (!page.has_more) return cursor
      }
    } catch (error) {
      // Plaid's data changed under us: the pages so far are inconsistent; start over (Plaid's advice).
      const mutated = error instanceof PlaidApiError && error.errorCode === SYNC_MUTATION
      if (!mutated || restart >= MAX_PAGINATION_RESTARTS) throw error
      await store.resetSync(userId, run.syncId)
    }
  }
}
