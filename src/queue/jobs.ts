/**
 * What the webhook route puts on the queue: the verified webhook's routing fields only (no
 * error messages or other free text), so a message is small and holds nothing sensitive.
 */
export type WebhookJob = {
  webhook_type: string
  webhook_code: string
  item_id: string | null
  /** For ITEM/USER_ACCOUNT_REVOKED: the account the user stopped sharing. */
  account_id?: string
  /** For ITEM/PENDING_EXPIRATION: when the user's consent expires. */
  consent_expiration_time?: string
  /** For ITEM/PENDING_DISCONNECT: when the Item stops working. */
  disconnect_time?: string
  /** For ITEM/ERROR: Plaid's error_code. */
  error_code: string | null
  received_at: string
  /**
   * When Plaid signed the webhook (the verified Plaid-Verification iat, Unix seconds): orders
   * status webhooks that the queue delivers out of order. Absent from jobs queued before it was
   * carried.
   */
  signed_at?: number | null
  /** The id of the webhook request that queued the job, on every log line the job writes. */
  request_id?: string | null
  /**
   * Set on the syncs the API queues itself, with no webhook behind them: the Item was just linked,
   * repaired through update mode (see itemSyncJob), or not synced for a day (the hourly cron).
   */
  reason?: SyncReason
}

export type SyncReason = 'linked' | 'repaired' | 'fallback'

/**
 * Queued by a user's object (its alarm) while it holds links Plaid exchanged whose request died
 * before storing them (store/pending-links.ts). It names the object, not the user.
 */
export type FinishPendingLinksJob = { job: 'finish_pending_links'; object_id: string; request_id?: null }

/** Everything the webhook queue carries. */
export type QueueJob = WebhookJob | FinishPendingLinksJob

export const isFinishPendingLinksJob = (job: QueueJob): job is FinishPendingLinksJob =>
  'job' in job && job.job === 'finish_pending_links'

/**
 * A sync of the Item, as a SYNC_UPDATES_AVAILABLE webhook would start. Plaid sends that webhook only
 * for Items on which /transactions/sync has been called at least once, so without this first sync
 * a new Item would never hear of its transactions.
 */
export function itemSyncJob(itemId: string, reason: SyncReason, requestId: string | null): WebhookJob {
  return {
    webhook_type: 'TRANSACTIONS',
    webhook_code: 'SYNC_UPDATES_AVAILABLE',
    item_id: itemId,
    error_code: null,
    received_at: new Date().toISOString(),
    signed_at: null,
    request_id: requestId,
    reason,
  }
}

/**
 * Whether a batch comes from a dead-letter queue. Each deployment names its queues (plaid-webhooks,
 * plaid-webhooks-sandbox) and their dead-letter queues the same plus `-dlq` (wrangler.toml).
 */
export const isDeadLetterQueue = (queue: string) => queue.endsWith('-dlq')

/**
 * Retries per job, as `max_retries` in wrangler.toml says: with RETRY_DELAY_SECONDS, a job is
 * tried for about a day, long enough to ride out an outage of Plaid or of a bank's connection.
 */
export const MAX_RETRIES = 30

/** 30 s doubling to at most an hour: 7 retries take about an hour, the other 23 one hour each. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** (Math.max(attempts, 1) - 1), 3600)
}
