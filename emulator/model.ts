/**
 * The shapes of what the emulator remembers for one Plaid client: institutions, Items with their
 * accounts, and the tokens that lead to them. Types only; the rules live in ./state.ts (Tenant).
 */
import type { EmulatedPlaidError } from './plaid-error'
import type { TransactionLog } from './transactions/log'

/**
 * One of Plaid's Sandbox institutions (./data/institutions.ts). At an `oauth` institution the user
 * logs in on the bank's own site, not in Link (./link-ui/oauth.ts). At one that
 * `invalidatesOlderItems`, a new Item of a login ends that login's older Items unless both share
 * the same accounts (Plaid support, "How do duplicate Items work with Chase?": the older Item
 * "will become invalidated when the user completes the institution's OAuth flow", and stays
 * healthy only when the new Item "has the same permissioned accounts").
 */
export type Institution = {
  id: string
  name: string
  products: readonly string[]
  oauth: boolean
  invalidatesOlderItems: boolean
}

export type Balances = {
  available: number | null
  current: number | null
  limit: number | null
  isoCurrencyCode: string
}

export type Account = {
  id: string
  name: string
  officialName: string | null
  mask: string
  type: 'depository' | 'credit' | 'loan' | 'investment'
  subtype: string
  balances: Balances
}

/** An error the Item is in (e.g. ITEM_LOGIN_REQUIRED) and since when. */
export type ItemErrorState = { error: EmulatedPlaidError; since: number }

/** Options that shape the Item's transaction history (from `options.transactions`). */
export type TransactionsOptions = { startDate?: string; endDate?: string; daysRequested?: number }

/** One linked bank connection. Times are epoch milliseconds from the tenant's clock. */
export type Item = {
  id: string
  /** Issued when the public token is exchanged; null until then. */
  accessToken: string | null
  institution: Institution
  /**
   * False for Items Plaid reports with a null institution_id (e.g. linked through Same Day
   * Micro-deposits rather than an institution connection).
   */
  institutionKnown: boolean
  /** The products the Item was initialized with (Plaid's `products` and `billed_products`). */
  products: string[]
  /** Where Plaid would send this Item's webhooks. */
  webhook: string | null
  userId: string | null
  /** The app's user the Item was linked for, through Link (`user.client_user_id`); null otherwise. */
  clientUserId: string | null
  createdAt: number
  accounts: Account[]
  error: ItemErrorState | null
  /** Removed Items stay here so their access tokens answer ITEM_NOT_FOUND, not INVALID_ACCESS_TOKEN. */
  removed: boolean
  /** How many times the balances changed (drives their drift). */
  balanceRefreshes: number
  /** When `/accounts/balance/get` was called for the Item in the last minute (Plaid's per-Item limit). */
  balanceCalls: number[]
  transactionsOptions: TransactionsOptions
  /** What `/item/get` reports as `status`. */
  lastSuccessfulUpdate: number | null
  lastFailedUpdate: number | null
  lastWebhook: { sentAt: number; code: string } | null
  /** Whether Plaid has pulled transactions yet; while false, /transactions/sync answers NOT_READY. */
  transactionsReady: boolean
  /**
   * Whether `/transactions/sync` has been called on the Item. Plaid sends SYNC_UPDATES_AVAILABLE
   * only for Items on which it has (SyncUpdatesAvailableWebhook in Plaid's spec).
   */
  syncCalled: boolean
  /** Created on first use (see transactionLog in ./state.ts). */
  transactions: TransactionLog | null
}

export type PublicToken = { itemId: string; expiresAt: number }

/** A link token, kept so a Link session can later be completed against it. */
export type LinkToken = {
  expiresAt: number
  clientUserId: string
  redirectUri: string | null
  countryCodes: string[]
  /** Every Item linked with it gets these; Link offers no institution lacking one. */
  products: string[]
  /** Added to the Item when its institution supports them; null when the request had none. */
  requiredIfSupportedProducts: string[] | null
  /** Added best-effort, when the institution supports them; null when the request had none. */
  optionalProducts: string[] | null
  /** Consent only, never initialized at link time; null when the request had none. */
  additionalConsentedProducts: string[] | null
  webhook: string | null
  /** Update mode: the Item the session repairs. */
  itemId: string | null
  /** `transactions.days_requested` as sent (null when not): a new Item's history, in days; update mode ignores it. */
  daysRequested: number | null
  /** Update mode: whether Link lets the user change which accounts the Item shares. */
  accountSelection: boolean
}

/** A webhook as it goes over the wire. */
export type WebhookDelivery = { url: string; headers: Record<string, string>; body: string }
