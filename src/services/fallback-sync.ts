/**
 * The safety net under Plaid's webhooks (the hourly cron): an Item with no finished sync for a day
 * gets one queued, as if SYNC_UPDATES_AVAILABLE had come. That covers a webhook lost beyond
 * Plaid's retries (about a day), a queue message dropped, an Item whose first sync never ran, and
 * an Item without a webhook URL. The candidates come from the D1 index (sync_due_at, moved on by
 * every finished sync), so finding them wakes no user's object; the sync runs in the queue
 * consumer like any other, and costs one /transactions/sync page when nothing changed.
 */
import type { ServiceContext } from '../context'
import { itemSyncJob } from '../queue/jobs'
import { listItemsDueForSync, postponeSyncs } from '../store/item-upkeep'
import { awaitsMove } from '../store/legacy/gate'

/** Syncs queued per run: as many as one sendBatch takes. 2,400 Items a day. */
export const FALLBACK_SYNCS_PER_RUN = 100

/** Queues syncs for up to FALLBACK_SYNCS_PER_RUN Items; an Item whose check fails holds up no other. */
export async function queueFallbackSyncs({ config, log }: ServiceContext, now: Date): Promise<void> {
  const due = await listItemsDueForSync(config.db, now, FALLBACK_SYNCS_PER_RUN)
  if (due.length === 0) return
  const waiting = new Map<string, Promise<boolean>>()
  const queued: string[] = []
  const skipped: string[] = []
  let failed = 0
  for (const { item_id, user_id } of due) {
    try {
      // The user's rows are not in their object yet: the consumer would leave the sync to the
      // user's return rather than create the object near it, so it is not queued at all.
      if (!waiting.has(user_id)) waiting.set(user_id, awaitsMove(config.db, user_id))
      if (await waiting.get(user_id)) skipped.push(item_id)
      else queued.push(item_id)
    } catch (error) {
      failed++
      log('error', 'fallback sync not queued; tried again next run', {
        item_id,
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
  }
  if (queued.length > 0) {
    await config.webhookQueue.sendBatch(queued.map((itemId) => ({ body: itemSyncJob(itemId, 'fallback', null) })))
  }
  // Skipped Items wait a day too, so that they never fill a run ahead of Items that can sync.
  await postponeSyncs(config.db, [...queued, ...skipped], now)
  log('info', 'syncs queued for items not synced for a day', {
    queued: queued.length,
    skipped: skipped.length,
    failed,
    more_left: due.length === FALLBACK_SYNCS_PER_RUN,
  })
}
