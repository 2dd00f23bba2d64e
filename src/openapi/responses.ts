/**
 * The shapes the API answers, described once for the OpenAPI document (never bundled into the
 * Worker). src/openapi/response-types.ts holds each against the type the code answers with
 * (`Item`, `Account`, `Transaction`...), so a field added, dropped or retyped there fails the
 * type-check until it is described here too.
 */
import * as v from 'valibot'
import { ItemIdParam } from '../routes/schemas'

const about = <S extends v.GenericSchema>(schema: S, description: string) => v.pipe(schema, v.description(description))
const string = v.string()
const nullableString = v.nullable(v.string())
const nullableNumber = v.nullable(v.number())
const dateTime = v.pipe(v.string(), v.isoTimestamp())
const nullableDateTime = v.nullable(dateTime)

export const ErrorBody = v.object({
  detail: about(string, 'For developers: log it, and show the user words of your own'),
  error_code: v.optional(about(string, "Plaid's error code (400 from Plaid)")),
  error_type: v.optional(about(string, "Plaid's error type (400 from Plaid)")),
  display_message: v.optional(about(string, 'Words Plaid suggests showing the user, when it has some')),
  request_id: v.optional(about(string, "Plaid's request id, for Plaid support")),
  item_id: v.optional(about(string, '409: the Item already linked, or the Item update mode cannot repair')),
  status: v.optional(
    about(string, '409 from update mode: the Item status that rules it out (permission_revoked, disconnected)'),
  ),
  retryable: v.optional(
    about(
      v.boolean(),
      'On every answer caused by Plaid (400 and 500). `true`: the same request may succeed later: Plaid ' +
        'rate limited it (`RATE_LIMIT_EXCEEDED`, with `Retry-After`), the bank is down, not responding or not ' +
        'available (`INSTITUTION_DOWN`, `INSTITUTION_NOT_RESPONDING`, `INSTITUTION_NOT_AVAILABLE`), Plaid failed ' +
        'or is in maintenance (`INTERNAL_SERVER_ERROR`, `PLANNED_MAINTENANCE`, any 5xx), Plaid was unreachable ' +
        'or too slow, or a sync met changing data (`TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION`): try again ' +
        'after `Retry-After` seconds, else with backoff. `false`: it will fail the same way; act on ' +
        '`error_code` (`ITEM_LOGIN_REQUIRED`: update mode). Absent: not about Plaid (a setting, a bug).',
    ),
  ),
})

export const Ready = v.object({ status: v.literal('ready') })

export const NotReady = v.object({
  detail: about(string, 'What is wrong with each setting and how to fix it'),
  settings: about(v.pipe(v.array(string), v.minLength(1)), 'The names of the bad settings and bindings'),
})

export const LinkToken = v.object({ link_token: string, expiration: dateTime })

export const Item = v.object({
  item_id: string,
  institution_id: nullableString,
  institution_name: nullableString,
  status: about(
    v.picklist([
      'good',
      'login_required',
      'update_required',
      'pending_expiration',
      'pending_disconnect',
      'permission_revoked',
      'disconnected',
    ]),
    '`login_required`, `update_required`, `pending_expiration` and `pending_disconnect`: offer update mode ' +
      '(POST link-token with item_id). `permission_revoked` and `disconnected`: Plaid will not serve the Item ' +
      'again; offer to remove it and link the bank again (update mode answers 409)',
  ),
  error_code: nullableString,
  new_accounts_available: about(
    v.boolean(),
    'Offer update mode with account_selection: the user has accounts they have not shared',
  ),
  transactions_synced_at: about(
    nullableDateTime,
    "When the Item's transactions were last brought up to date; null until its first sync (queued when it was linked) has run",
  ),
  consent_expiration_time: about(
    nullableDateTime,
    "With `pending_expiration` (EU, UK): when the user's consent expires and the Item stops working; ask them to reconnect (update mode) before",
  ),
  disconnect_time: about(
    nullableDateTime,
    'With `pending_disconnect` (US, CA): when the Item stops working unless the user reconnects (update mode) before',
  ),
  created_at: dateTime,
  updated_at: dateTime,
})

export const Account = v.object({
  account_id: string,
  item_id: string,
  name: string,
  official_name: nullableString,
  mask: nullableString,
  type: string,
  subtype: nullableString,
  balances: v.object({
    available: nullableNumber,
    current: nullableNumber,
    limit: nullableNumber,
    iso_currency_code: nullableString,
    unofficial_currency_code: nullableString,
  }),
  balances_updated_at: dateTime,
})

export const ItemEnvelope = v.object({ item: Item })
export const ItemList = v.object({ items: v.array(Item) })

export const BalanceRefresh = v.object({
  item_id: ItemIdParam,
  outcome: about(
    v.picklist(['refreshed', 'cooling_down', 'failed']),
    '`refreshed`: live balances from the bank. `cooling_down`: the Item was checked less than 12 s ago ' +
      "(Plaid allows 5 checks per Item per minute), so its stored balances are that check's. `failed`: see `error`",
  ),
  retry_after_seconds: v.optional(
    about(
      v.pipe(v.number(), v.integer(), v.minValue(1)),
      'cooling_down: when the next live check of this Item is allowed',
    ),
  ),
  http_status: v.optional(about(v.pipe(v.number(), v.integer()), 'failed: the status this error has on its own')),
  error: v.optional(ErrorBody),
})

export const AccountList = v.object({
  accounts: v.array(Account),
  balances_refresh: v.optional(
    about(
      v.array(BalanceRefresh),
      'With refresh=true: how each Item fared. An Item whose check failed keeps its stored balances ' +
        '(see `balances_updated_at`) and its error is here; when every Item failed, the answer is that ' +
        'error instead (400 or 500, as any request)',
    ),
  ),
})

export const SyncResult = v.object({
  added: v.pipe(v.number(), v.integer()),
  modified: v.pipe(v.number(), v.integer()),
  removed: v.pipe(v.number(), v.integer()),
  status: about(v.picklist(['synced', 'not_ready']), '`not_ready`: Plaid has no data yet'),
})

export const Counterparty = v.object({
  name: string,
  type: about(
    string,
    '`merchant`, `financial_institution`, `payment_app`, `marketplace`, `payment_terminal`, `income_source`',
  ),
  logo_url: nullableString,
  website: nullableString,
  entity_id: nullableString,
  confidence_level: nullableString,
})

const Location = v.object({
  address: nullableString,
  city: nullableString,
  region: nullableString,
  postal_code: nullableString,
  country: nullableString,
  lat: nullableNumber,
  lon: nullableNumber,
  store_number: nullableString,
})

export const Transaction = about(
  v.object({
    transaction_id: string,
    item_id: string,
    account_id: string,
    amount: about(v.number(), "Plaid's sign: positive is money out of the account"),
    iso_currency_code: nullableString,
    unofficial_currency_code: nullableString,
    date: about(v.pipe(v.string(), v.isoDate()), 'Posted date (pending: the day it occurred)'),
    datetime: about(nullableDateTime, 'When it posted, at banks that say'),
    authorized_date: about(
      v.nullable(v.pipe(v.string(), v.isoDate())),
      'When the user made it: Plaid recommends it over `date` for display',
    ),
    authorized_datetime: about(nullableDateTime, 'When it was authorized'),
    name: nullableString,
    merchant_name: nullableString,
    merchant_entity_id: about(nullableString, "Plaid's stable id of the merchant"),
    logo_url: about(nullableString, "The merchant's logo, a 100×100 PNG"),
    website: nullableString,
    counterparties: about(
      v.array(Counterparty),
      'Who took part, as Plaid reads the description: the merchant, a marketplace or terminal...',
    ),
    location: about(v.nullable(Location), 'Where it took place; every field null for online transactions'),
    pending: v.boolean(),
    pending_transaction_id: about(
      nullableString,
      'On a posted transaction: the pending one it replaced, which Plaid removed (and the API with it)',
    ),
    payment_channel: about(nullableString, '`online`, `in store` or `other`'),
    personal_finance_category: v.nullable(
      v.object({
        primary: string,
        detailed: string,
        confidence_level: about(nullableString, '`VERY_HIGH`, `HIGH`, `MEDIUM`, `LOW` or `UNKNOWN`'),
        version: about(nullableString, 'The taxonomy, `v1` or `v2`: compare categories only within one version'),
      }),
    ),
    personal_finance_category_icon_url: about(nullableString, "The primary category's icon, a 100×100 PNG"),
    category: v.pipe(
      v.nullable(v.object({ primary: string, detailed: string })),
      v.metadata({
        deprecated: true,
        description:
          "`personal_finance_category`'s `primary` and `detailed`, under the name earlier releases used; not " +
          "Plaid's deprecated `category` array. Read `personal_finance_category` instead.",
      }),
    ),
  }),
  "Plaid's `Transaction` as last synced, with its Item. Fields Plaid's enrichment fills in are null (or no " +
    'counterparties) when Plaid did not give them, and for transactions last synced before this API kept them.',
)

export const TransactionPage = v.object({
  transactions: v.array(Transaction),
  next_cursor: about(nullableString, 'null on the last page'),
})

export const WebhookReceipt = v.object({ received: v.literal(true) })

export const LinkedItem = v.object({
  item: Item,
  accounts: v.array(Account),
  replaced_item_ids: v.optional(
    about(
      v.array(ItemIdParam),
      "201 at a bank where a new Item ends the login's older ones (Chase): the user's older Items with the " +
        'same accounts, now removed at Plaid and here. Absent when none',
    ),
  ),
})
