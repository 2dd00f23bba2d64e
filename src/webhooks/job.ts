/**
 * What the webhook route puts on the queue: the verified webhook's routing fields only (no
 * error messages or other free text), so a message is small and holds nothing sensitive.
 */
export type WebhookJob = {
  webhook_type: string
  webhook_code: string
  item_id: string | null
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
