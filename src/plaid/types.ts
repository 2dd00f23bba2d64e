/**
 * The subset of Plaid's request and response shapes this API uses, named and typed as in
 * Plaid's OpenAPI spec (PLAID_VERSION). Credentials are sent as headers, so `client_id` and
 * `secret` are left out of the bodies.
 */

export type LinkTokenCreateRequest = {
  client_name: string
  language: string
  country_codes: string[]
  user: { client_user_id: string }
  products?: string[]
  required_if_supported_products?: string[]
  optional_products?: string[]
  webhook?: string
  redirect_uri?: string
  access_token?: string
  update?: { account_selection_enabled: boolean }
  transactions?: { days_requested: number }
}

export type LinkTokenCreateResponse = {
  link_token: string
  expiration: string
  request_id?: string
}

export type ItemPublicTokenExchangeResponse = { access_token: string; item_id: string; request_id?: string }

export type AccountBalance = {
  available: number | null
  current: number | null
  limit: number | null
  iso_currency_code: string | null
  unofficial_currency_code: string | null
  last_updated_datetime?: string | null
}

export type AccountBase = {
  account_id: string
  balances: AccountBalance
  mask: string | null
  name: string
  official_name: string | null
  type: string
  subtype: string | null
}

/** The Item fields this API reads (Plaid's `Item` schema has more). */
export type PlaidItem = {
  item_id: string
  institution_id?: string | null
  institution_name?: string | null
  webhook: string | null
  error: { error_code: string; error_type: string } | null
}

export type AccountsGetResponse = { accounts: AccountBase[]; item: PlaidItem; request_id?: string }

export type ItemGetResponse = { item: PlaidItem; request_id?: string }

/** Plaid's `TransactionCounterparty`, without `account_numbers` (never kept: see parseTransaction). */
export type TransactionCounterparty = {
  name: string
  type: string
  logo_url: string | null
  website: string | null
  entity_id: string | null
  confidence_level: string | null
}

/** Plaid's `Location`: where a transaction took place (all null for online ones). */
export type TransactionLocation = {
  address: string | null
  city: string | null
  region: string | null
  postal_code: string | null
  country: string | null
  lat: number | null
  lon: number | null
  store_number: string | null
}

/** Plaid's `PersonalFinanceCategory`; `version` names the taxonomy (v1 or v2) it comes from. */
export type PersonalFinanceCategory = {
  primary: string
  detailed: string
  confidence_level: string | null
  version: string | null
}

/**
 * The Transaction fields this API stores: the identity, amount, dates and status, and the
 * enrichment a UI shows (merchant logo, website and entity, counterparties, location, times, the
 * category with its confidence and icon). Plaid's schema has more (payment_meta, check_number...).
 */
export type PlaidTransaction = {
  transaction_id: string
  account_id: string
  amount: number
  iso_currency_code: string | null
  unofficial_currency_code: string | null
  date: string
  datetime: string | null
  authorized_date: string | null
  authorized_datetime: string | null
  name: string | null
  merchant_name: string | null
  merchant_entity_id: string | null
  logo_url: string | null
  website: string | null
  counterparties: TransactionCounterparty[]
  location: TransactionLocation | null
  pending: boolean
  pending_transaction_id: string | null
  payment_channel: string | null
  personal_finance_category: PersonalFinanceCategory | null
  personal_finance_category_icon_url: string | null
}

export type TransactionsSyncResponse = {
  /** The accounts the page's transactions belong to, with their balances. */
  accounts: AccountBase[]
  added: PlaidTransaction[]
  modified: PlaidTransaction[]
  removed: { transaction_id: string; account_id?: string }[]
  next_cursor: string
  has_more: boolean
}

/** Plaid's `JWKPublicKey`: the key that signs webhooks, with its expiry. */
export type WebhookVerificationKey = {
  alg: string
  kid: string
  kty: string
  crv: string
  x: string
  y: string
  use: string
  created_at: number
  expired_at: number | null
}
