import type { ServiceContext } from '../context'
import { itemSyncJob } from '../queue/jobs'

/**
 * Queues a sync of the Item on the webhook queue, to run after the answer has gone out (see
 * itemSyncJob for why). The Item is already stored, so a failure to queue is logged rather than
 * failing the request: the Item then syncs on its next manual sync or refresh.
 */
export async function queueItemSync(ctx: ServiceContext, itemId: string, reason: 'linked' | 'repaired') {
  const { config, log, defer, requestId } = ctx
  const queued = config.webhookQueue.send(itemSyncJob(itemId, reason, requestId ?? null)).then(
    () => log('info', 'item sync queued', { item_id: itemId, reason }),
    (error: unknown) =>
      log('error', 'item sync could not be queued; a manual sync or refresh starts it', {
        item_id: itemId,
        reason,
        error: error instanceof Error ? error.name : 'unknown',
      }),
  )
  if (defer) defer(queued)
  else await queued
}
