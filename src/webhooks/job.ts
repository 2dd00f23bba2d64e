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
}
