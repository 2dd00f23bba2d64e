/**
 * The shapes of an Item's transactions: the spec's Transaction as the emulator renders it, the
 * merchant templates it is drawn from (../data/merchants.ts), and the change log's entries.
 */

export type PaymentChannel = 'online' | 'in store' | 'other'

export type Counterparty = {
  name: string
  type: 'merchant' | 'financial_institution' | 'payment_app' | 'marketplace' | 'payment_terminal' | 'income_source'
  logo_url: string | null
  website: string | null
  entity_id: string | null
  confidence_level: string
}

export type Location = {
  address: string | null
  city: string | null
  region: string | null
  postal_code: string | null
  country: string | null
  lat: number | null
  lon: number | null
  store_number: string | null
}

export type AccountKind = 'card' | 'checking' | 'savings'

/** A kind of transaction: who, how much, which category, and from which kind of account. */
export type Template = {
  name: string
  original: string
  merchant: string | null
  website?: string
  counterpartyType?: Counterparty['type']
  /**
   * Who the payment went through, when the description names them (a card terminal, a
   * marketplace): Plaid lists them as a counterparty of their own, before the merchant.
   */
  via?: { name: string; type: Counterparty['type']; website: string }
  pfc: [primary: string, detailed: string]
  channel: PaymentChannel
  amount: [min: number, max: number]
  accounts: AccountKind[]
  location?: Partial<Location>
  /** How often it occurs relative to the others. */
  weight: number
}

/** The spec's Transaction as the emulator renders it (`original_description` only on request). */
export type TransactionJson = {
  account_id: string
  account_owner: null
  amount: number
  iso_currency_code: string
  unofficial_currency_code: null
  check_number: null
  counterparties: Counterparty[]
  date: string
  datetime: string | null
  authorized_date: string
  authorized_datetime: string | null
  location: Location
  name: string
  merchant_name: string | null
  merchant_entity_id: string | null
  logo_url: string | null
  website: string | null
  payment_meta: Record<PaymentMetaField, null>
  payment_channel: PaymentChannel
  pending: boolean
  pending_transaction_id: string | null
  personal_finance_category: { primary: string; detailed: string; confidence_level: string; version: 'v1' }
  personal_finance_category_icon_url: string
  transaction_id: string
  transaction_code: null
  transaction_type: 'digital' | 'place' | 'special'
  original_description: string
}

export type PaymentMetaField =
  | 'by_order_of'
  | 'payee'
  | 'payer'
  | 'payment_method'
  | 'payment_processor'
  | 'ppd_id'
  | 'reason'
  | 'reference_number'

export type ChangeKind = 'added' | 'modified' | 'removed'
/** One entry of the log; `transaction` is the version the event produced (the last one for removals). */
export type ChangeEvent = { kind: ChangeKind; transaction: TransactionJson }

/** The account fields a log's transactions depend on (an Account has them). */
export type LogAccount = { id: string; type: string; subtype: string }
export type LogOrigin = { itemId: string; accounts: LogAccount[]; createdAt: number; historyDays: number }
/** One call of `change`; `post` is absent from changes saved before postings existed. */
export type LogChange = { add: number; modify: number; remove: number; post?: number; now: number }

/** A page of the log, reduced: each transaction appears once, in the list of its net change. */
export type Page = {
  added: TransactionJson[]
  modified: TransactionJson[]
  removed: TransactionJson[]
  next: number
  hasMore: boolean
}
