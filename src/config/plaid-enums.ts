/**
 * The enums of Plaid's OpenAPI spec (of PLAID_VERSION) that settings are checked against, and
 * that the emulator checks requests against. Kept free of Worker types so the emulator imports them.
 */

/** Plaid's `Products` enum. */
export const PLAID_PRODUCTS = [
  'assets',
  'auth',
  'balance',
  'balance_plus',
  'beacon',
  'identity',
  'identity_match',
  'investments',
  'investments_auth',
  'liabilities',
  'payment_initiation',
  'identity_verification',
  'transactions',
  'credit_details',
  'income',
  'income_verification',
  'standing_orders',
  'transfer',
  'employment',
  'recurring_transactions',
  'transactions_refresh',
  'signal',
  'statements',
  'processor_payments',
  'processor_identity',
  'profile',
  'cra_base_report',
  'cra_income_insights',
  'cra_partner_insights',
  'cra_network_insights',
  'cra_cashflow_insights',
  'cra_monitoring',
  'cra_lend_score',
  'cra_plaid_credit_score',
  'layer',
  'pay_by_bank',
  'protect_linked_bank',
  'protect_transactions',
] as const
/** Products the enum lists that Link cannot be initialized with. */
const NOT_FOR_LINK: readonly string[] = ['balance', 'balance_plus']
/** The products a link token may ask for (PLAID_PRODUCTS and the other product lists). */
export const PRODUCTS = new Set<string>(PLAID_PRODUCTS.filter((product) => !NOT_FOR_LINK.includes(product)))

/** Plaid's `CountryCode` enum. */
export const PLAID_COUNTRY_CODES = [
  'US',
  'GB',
  'ES',
  'NL',
  'FR',
  'IE',
  'CA',
  'DE',
  'IT',
  'PL',
  'DK',
  'NO',
  'SE',
  'EE',
  'LT',
  'LV',
  'PT',
  'BE',
  'AT',
  'FI',
] as const
export const COUNTRY_CODES = new Set<string>(PLAID_COUNTRY_CODES)

/** The languages `/link/token/create` documents. */
export const PLAID_LANGUAGES = [
  'da',
  'nl',
  'en',
  'et',
  'fr',
  'de',
  'hi',
  'it',
  'lv',
  'lt',
  'no',
  'pl',
  'pt',
  'ro',
  'es',
  'sv',
  'vi',
] as const
export const LANGUAGES = new Set<string>(PLAID_LANGUAGES)
