/**
 * What the control API (`/emulator/*`, ./control.ts) answers, for the clients that call it (tests,
 * scripts) to import rather than restate. These are the emulator's own shapes, not Plaid's.
 */
import type { ChaosCounts } from './chaos'
import type { WebhookDelivery } from './model'
import type { TransactionJson } from './transactions/types'
import type { jwkPublicKey } from './webhooks/keys'

export type { WebhookDelivery }

/** Every refusal: what was wrong, and Plaid's error_code when a Plaid rule refused it. */
export type ControlErrorBody = { error: string; error_code?: string }

/** An Item as GET /emulator/items lists it. */
export type ItemSummary = {
  item_id: string
  institution_id: string
  access_token: string | null
  products: string[]
  webhook: string | null
  created_at: string
  removed: boolean
  sync_called: boolean
  login_required: boolean
  error_code: string | null
  account_ids: string[]
}

/** POST /emulator/items/:item_id/{login-required,repair,remove,without-institution}. */
export type ItemStatus = Pick<ItemSummary, 'item_id' | 'login_required' | 'error_code'>

/** A link token as GET /emulator/link-tokens lists it (what Plaid's /link/token/get would say). */
export type LinkTokenSummary = {
  link_token: string
  client_user_id: string
  webhook: string | null
  redirect_uri: string | null
  item_id: string | null
  country_codes: string[]
  products: string[]
  required_if_supported_products: string[] | null
  optional_products: string[] | null
  additional_consented_products: string[] | null
  account_selection_enabled: boolean
  days_requested: number | null
}

/** One of the live transactions GET /emulator/items/:item_id/transactions lists. */
export type LiveTransaction = Omit<TransactionJson, 'original_description'>

/** POST /emulator/items/:item_id/transactions. */
export type TransactionsChanged = { transactions: number; events: number; webhook_fired: boolean }

/** POST /emulator/items/:item_id/transactions-ready. */
export type TransactionsReady = { item_id: string; transactions_ready: boolean; webhook_fired: boolean }

/** POST /emulator/items/:item_id/fire-webhook. */
export type FiredWebhook = { webhook: Record<string, unknown>; webhook_fired: boolean }

/** A webhook verification key as Plaid serves it (the spec's JWKPublicKey). */
export type PublicKey = ReturnType<typeof jwkPublicKey>

/** GET /emulator/webhook-keys: the keys, and how often each key_id was asked for. */
export type WebhookKeysState = { keys: PublicKey[]; lookups: Record<string, number> }

/** GET /emulator/chaos. */
export type ChaosSnapshot = {
  enabled: boolean
  config: {
    latency_ms: [number, number] | null
    latency_rate: number
    rate_429: number
    rate_5xx: number
    endpoints: string[] | null
  } | null
  since: string | null
  totals: ChaosCounts
  endpoints: Record<string, ChaosCounts>
}
