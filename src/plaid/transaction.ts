/**
 * Plaid's `Transaction` as this API keeps it. The identity, amount, date and status are required:
 * without them a transaction cannot be stored, and the whole answer is refused. The enrichment is
 * best effort, as Plaid's is: a field missing or of another type reads as null (or no
 * counterparties), so a change in an optional field never stops a sync.
 */
import { isObject, nullableNumber, nullableString } from './json'
import type { PersonalFinanceCategory, PlaidTransaction, TransactionCounterparty, TransactionLocation } from './types'

export function parseTransaction(value: unknown): PlaidTransaction | undefined {
  if (!isObject(value) || typeof value.transaction_id !== 'string' || typeof value.account_id !== 'string') {
    return undefined
  }
  if (typeof value.amount !== 'number' || typeof value.date !== 'string' || typeof value.pending !== 'boolean') {
    return undefined
  }
  return {
    transaction_id: value.transaction_id,
    account_id: value.account_id,
    amount: value.amount,
    iso_currency_code: nullableString(value.iso_currency_code),
    unofficial_currency_code: nullableString(value.unofficial_currency_code),
    date: value.date,
    datetime: nullableString(value.datetime),
    authorized_date: nullableString(value.authorized_date),
    authorized_datetime: nullableString(value.authorized_datetime),
    name: nullableString(value.name),
    merchant_name: nullableString(value.merchant_name),
    merchant_entity_id: nullableString(value.merchant_entity_id),
    logo_url: nullableString(value.logo_url),
    website: nullableString(value.website),
    counterparties: Array.isArray(value.counterparties) ? value.counterparties.flatMap(counterparty) : [],
    location: location(value.location),
    pending: value.pending,
    pending_transaction_id: nullableString(value.pending_transaction_id),
    payment_channel: nullableString(value.payment_channel),
    personal_finance_category: category(value.personal_finance_category),
    personal_finance_category_icon_url: nullableString(value.personal_finance_category_icon_url),
  }
}

/**
 * Only the fields a UI shows, by name: Plaid adds fields over time, and some must not be kept at
 * all (a counterparty's `account_numbers` holds IBANs and bank account numbers).
 */
function counterparty(value: unknown): TransactionCounterparty[] {
  if (!isObject(value) || typeof value.name !== 'string' || typeof value.type !== 'string') return []
  return [
    {
      name: value.name,
      type: value.type,
      logo_url: nullableString(value.logo_url),
      website: nullableString(value.website),
      entity_id: nullableString(value.entity_id),
      confidence_level: nullableString(value.confidence_level),
    },
  ]
}

function location(value: unknown): TransactionLocation | null {
  if (!isObject(value)) return null
  return {
    address: nullableString(value.address),
    city: nullableString(value.city),
    region: nullableString(value.region),
    postal_code: nullableString(value.postal_code),
    country: nullableString(value.country),
    lat: nullableNumber(value.lat),
    lon: nullableNumber(value.lon),
    store_number: nullableString(value.store_number),
  }
}

function category(value: unknown): PersonalFinanceCategory | null {
  if (!isObject(value) || typeof value.primary !== 'string' || typeof value.detailed !== 'string') return null
  return {
    primary: value.primary,
    detailed: value.detailed,
    confidence_level: nullableString(value.confidence_level),
    version: nullableString(value.version),
  }
}
