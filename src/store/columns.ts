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
]

/** `a = excluded.a, ...`: an upsert's update of `columns`. */
export const fromExcluded = (columns: string[]) => columns.map((c) => `${c} = excluded.${c}`).join(', ')
