/**
 * Items and their accounts: Sandbox Item creation, the public token exchange, `/accounts/get`,
 * `/accounts/balance/get`, `/item/get`, `/item/webhook/update`, `/item/remove` and
 * `/sandbox/item/reset_login`. The
 * state lives in the tenant (see ../state.ts); this module validates requests and renders
 * Plaid's response shapes (AccountBase, Item, ItemWithConsentFields, ItemStatus).
 */

import { PLAID_PRODUCTS } from '../../src/config/plaid-enums'
import { CUSTOM_USERNAME, customAccounts } from '../custom-user'
import { INSTITUTIONS } from '../data/institutions'
import type { Account, Item } from '../model'
import { EmulatedPlaidError, invalidInput } from '../plaid-error'
import type { EndpointRegistry } from '../registry'
import { driftBalances, isoSeconds, type Tenant } from '../state'
import {
  anything,
  arrayOf,
  checkFields,
  date,
  dateTime,
  integer,
  nonEmptyString,
  object,
  type Shape,
  string,
  stringOf,
  stringUpTo,
  url,
} from '../validate'
import { itemErrorWebhook, webhookUpdateAcknowledged } from '../webhooks/bodies'

// The spec's ItemRemoveReasonCode.
const REMOVE_REASONS = [
  'FRAUD_FIRST_PARTY',
  'FRAUD_FALSE_IDENTITY',
  'FRAUD_ABUSE',
  'FRAUD_OTHER',
  'CONNECTION_IS_NON_FUNCTIONAL',
  'OTHER',
]

const accessToken: Shape = { access_token: { required: true, rule: string } }
const accountIds = { rule: arrayOf(string) }

export function itemEndpoints(api: EndpointRegistry): void {
  // Plaid Sandbox creates the Item at once (no Link session) and returns a public token for it.
  api.post('/sandbox/public_token/create', (body, { tenant }) => {
    checkFields(body, {
      institution_id: { required: true, rule: string },
      initial_products: { required: true, rule: arrayOf(stringOf(PLAID_PRODUCTS), { nonEmpty: true }) },
      options: {
        rule: object({
          webhook: { rule: url },
          override_username: { rule: string },
          override_password: { rule: string },
          transactions: {
            rule: object({
              start_date: { rule: date },
              end_date: { rule: date },
              days_requested: { rule: integer(1, 730) },
            }),
          },
          statements: {
            rule: object({ start_date: { required: true, rule: date }, end_date: { required: true, rule: date } }),
          },
          income_verification: {
            rule: object({ income_source_types: { rule: anything }, bank_income: { rule: anything } }),
          },
        }),
      },
      user_token: { rule: string },
      user_id: { rule: string },
    })
    const institution = INSTITUTIONS.get(body.institution_id as string)
    if (!institution) throw invalidInput('INVALID_INSTITUTION', 'invalid institution_id provided')
    const options = (body.options ?? {}) as {
      webhook?: string | null
      override_username?: string
      override_password?: string
      transactions?: { start_date?: string; end_date?: string; days_requested?: number } | null
    }
    const custom = options.override_username === CUSTOM_USERNAME
    const item = tenant.createItem({
      institution,
      products: body.initial_products as string[],
      accounts: custom ? customAccounts(options.override_password ?? '{}') : undefined,
      webhook: options.webhook,
      userId: (body.user_id as string | undefined) ?? null,
      transactionsOptions: {
        startDate: options.transactions?.start_date,
        endDate: options.transactions?.end_date,
        daysRequested: options.transactions?.days_requested,
      },
    })
    return { public_token: tenant.issuePublicToken(item) }
  })

  api.post('/item/public_token/exchange', (body, { tenant }) => {
    checkFields(body, { public_token: { required: true, rule: nonEmptyString } })
    const item = tenant.exchangePublicToken(body.public_token as string)
    return { access_token: item.accessToken, item_id: item.id }
  })

  api.post('/accounts/get', (body, { tenant }) => {
    checkFields(body, { ...accessToken, options: { rule: object({ account_ids: accountIds }) } })
    const item = healthyItem(tenant, body)
    return { accounts: selectAccounts(item, body).map((a) => accountJson(a)), item: itemJson(item) }
  })

  // Real-time balance: refreshes the stored balances first, so a later /accounts/get (cached
  // data) shows what this call returned.
  api.post('/accounts/balance/get', (body, { tenant }) => {
    checkFields(body, {
      ...accessToken,
      // min_last_updated_datetime only matters for Capital One (ins_128026), so it is checked and ignored.
      options: { rule: object({ account_ids: accountIds, min_last_updated_datetime: { rule: dateTime } }) },
    })
    const item = healthyItem(tenant, body)
    limitBalanceCalls(tenant, item)
    const accounts = selectAccounts(item, body)
    driftBalances(item)
    const updatedAt = isoSeconds(tenant.now())
    return { accounts: accounts.map((a) => accountJson(a, updatedAt)), item: itemJson(item) }
  })

  // Unlike the data endpoints, /item/get answers for an Item in an error state: the error is
  // reported in `item.error`, which is how an app learns it must send the user to update mode.
  api.post('/item/get', (body, { tenant }) => {
    checkFields(body, accessToken)
    const item = tenant.itemForAccessToken(body.access_token as string)
    return {
      item: { ...itemJson(item), error: item.error?.error.itemError() ?? null, created_at: isoSeconds(item.createdAt) },
      status: itemStatus(item),
    }
  })

  // Like /item/get, answers for an Item in an error state: where its webhooks go is not data from
  // the bank. Plaid confirms a new URL with WEBHOOK_UPDATE_ACKNOWLEDGED, sent to that new URL; a
  // null webhook (the spec's way to remove it) leaves nowhere to send it.
  api.post('/item/webhook/update', async (body, { tenant, webhooks }) => {
    checkFields(body, { ...accessToken, webhook: { rule: url } })
    const item = tenant.itemForAccessToken(body.access_token as string)
    item.webhook = (body.webhook as string | null | undefined) ?? null
    if (item.webhook !== null) await webhooks.send(tenant, item, webhookUpdateAcknowledged(item, item.webhook))
    return { item: itemJson(item) }
  })

  api.post('/item/remove', (body, { tenant }) => {
    checkFields(body, {
      ...accessToken,
      reason_code: { rule: stringOf(REMOVE_REASONS) },
      reason_note: { rule: stringUpTo(512) },
    })
    tenant.remove(tenant.itemForAccessToken(body.access_token as string))
    return {}
  })

  // Like Plaid's Sandbox, also sends the ITEM/ERROR webhook when the Item has a webhook URL.
  api.post('/sandbox/item/reset_login', async (body, { tenant, webhooks }) => {
    checkFields(body, accessToken)
    const item = tenant.itemForAccessToken(body.access_token as string)
    await webhooks.send(tenant, item, itemErrorWebhook(item, tenant.requireLogin(item)))
    return { reset_login: true }
  })
}

/** The Item for a data request: it must exist and must not be in an error state. */
export function healthyItem(tenant: Tenant, body: Record<string, unknown>): Item {
  const item = tenant.itemForAccessToken(body.access_token as string)
  if (item.error) throw item.error.error
  return item
}

/** The Item's accounts, narrowed to `options.account_ids` when given (in the Item's order). */
function selectAccounts(item: Item, body: Record<string, unknown>): Account[] {
  const wanted = (body.options as { account_ids?: string[] } | undefined)?.account_ids
  // An empty list filters nothing, as if the option were absent.
  if (!wanted?.length) return item.accounts
  if (wanted.some((id) => !item.accounts.some((a) => a.id === id))) {
    throw invalidInput('INVALID_ACCOUNT_ID', 'failed to find requested account ID for requested item')
  }
  return item.accounts.filter((a) => wanted.includes(a.id))
}

/** AccountBase. `updatedAt` is set only by a real-time balance call. */
export function accountJson(account: Account, updatedAt?: string) {
  const { available, current, limit, isoCurrencyCode } = account.balances
  return {
    account_id: account.id,
    balances: {
      available,
      current,
      limit,
      iso_currency_code: isoCurrencyCode,
      unofficial_currency_code: null,
      ...(updatedAt && { last_updated_datetime: updatedAt }),
    },
    holder_category: 'personal',
    mask: account.mask,
    name: account.name,
    official_name: account.officialName,
    subtype: account.subtype,
    type: account.type,
  }
}

/** The spec's Item. `error` is null here: only /item/get shows an Item's error. */
function itemJson(item: Item) {
  return {
    item_id: item.id,
    institution_id: item.institutionKnown ? item.institution.id : null,
    institution_name: item.institutionKnown ? item.institution.name : null,
    webhook: item.webhook,
    // Sandbox institutions hand over account and routing numbers directly.
    auth_method: item.products.includes('auth') ? 'INSTANT_AUTH' : null,
    error: null,
    // The two lists are mutually exclusive: available = supported by the bank, not yet billed.
    available_products: item.institution.products.filter((p) => !item.products.includes(p)).sort(),
    billed_products: [...item.products].sort(),
    products: [...item.products].sort(),
    consent_expiration_time: null,
    update_type: 'background',
  }
}

/** ItemStatus: update times for the subscription products the Item has, and the last webhook. */
function itemStatus(item: Item) {
  const updates = {
    last_successful_update: item.lastSuccessfulUpdate === null ? null : isoSeconds(item.lastSuccessfulUpdate),
    last_failed_update: item.lastFailedUpdate === null ? null : isoSeconds(item.lastFailedUpdate),
  }
  return {
    ...(item.products.includes('transactions') && { transactions: updates }),
    ...(item.products.includes('investments') && { investments: updates }),
    last_webhook: item.lastWebhook && {
      sent_at: isoSeconds(item.lastWebhook.sentAt),
      code_sent: item.lastWebhook.code,
    },
  }
}

/** Plaid's Production limit on `/accounts/balance/get`: 5 calls per Item per minute. */
const BALANCE_CALLS_PER_MINUTE = 5

/**
 * Counts the call against the Item's per-minute limit, or refuses it as Plaid does (429
 * RATE_LIMIT_EXCEEDED, plaid.com/docs/errors/rate-limit-exceeded). Plaid's Sandbox allows more
 * per Item; the emulator holds the API to the Production figure it must live with.
 */
function limitBalanceCalls(tenant: Tenant, item: Item): void {
  const now = tenant.now()
  item.balanceCalls = item.balanceCalls.filter((at) => at > now - 60_000)
  if (item.balanceCalls.length >= BALANCE_CALLS_PER_MINUTE) {
    throw new EmulatedPlaidError(
      429,
      'RATE_LIMIT_EXCEEDED',
      'BALANCE_LIMIT',
      'rate limit exceeded for attempts to access this item. please try again later',
    )
  }
  item.balanceCalls.push(now)
}
