/** Column lists shared by the SQL of the user's object, written once so the bundle carries them once. */

/** A transaction's columns after its id and Item, as Plaid gives them (staging and transactions both). */
export const TRANSACTION_FIELDS = [
  'account_id',
  'amount',
  'iso_currency_code',
  'unofficial_currency_code',
  'date',
  'authorized_date',
  'name',
  'merchant_name',
  'pending',
  'pending_transaction_id',
  'payment_channel',
  'category_primary',
  'category_detailed',
  'enrichment',
]

/**
 * What the `enrichment` column keeps, as one JSON object: Plaid's fields that a UI shows but no
 * query filters on. A field dropped at sync time could only be had again by pulling every Item's
 * history anew, so whatever Plaid enriches is kept as it came (parsed: plaid/transaction.ts).
 */
export const ENRICHED_FIELDS = [
  'datetime',
  'authorized_datetime',
  'merchant_entity_id',
  'logo_url',
  'website',
  'counterparties',
  'location',
  'personal_finance_category',
  'personal_finance_category_icon_url',
] as const

/** `a = excluded.a, ...`: an upsert's update of `columns`. */
export const fromExcluded = (columns: string[]) => columns.map((c) => `${c} = excluded.${c}`).join(', ')
