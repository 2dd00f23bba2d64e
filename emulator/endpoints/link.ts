import { PLAID_COUNTRY_CODES, PLAID_LANGUAGES, PLAID_PRODUCTS } from '../../src/config/plaid-enums'
import type { Account, Institution, Item, LinkToken } from '../model'
import { invalidField } from '../plaid-error'
import type { EndpointRegistry } from '../registry'
import { isoSeconds, LINK_TOKEN_TTL_MS, type Tenant } from '../state'
import {
  anything,
  arrayOf,
  boolean,
  checkFields,
  integer,
  nonEmptyString,
  object,
  type Rule,
  stringOf,
  url,
} from '../validate'

// Fields Plaid accepts on /link/token/create that the emulator does not model: accepted, ignored.
const OTHER_FIELDS = [
  'user_id',
  'access_tokens',
  'link_customization_name',
  'appearance_mode',
  'android_package_name',
  'institution_data',
  'card_switch',
  'account_filters',
  'eu_config',
  'institution_id',
  'payment_configuration',
  'payment_initiation',
  'employment',
  'income_verification',
  'base_report',
  'credit_partner_insights',
  'cra_options',
  'consumer_report_permissible_purpose',
  'auth',
  'transfer',
  'identity_verification',
  'statements',
  'third_party_user_token',
  'investments',
  'investments_auth',
  'hosted_link',
  'cashflow_report',
  'cra_enabled',
  'identity',
  'financekit_supported',
  'enable_multi_item_link',
  'user_token',
]
const USER_FIELDS = [
  'legal_name',
  'name',
  'phone_number',
  'phone_number_verified_time',
  'email_address',
  'email_address_verified_time',
  'ssn',
  'date_of_birth',
  'address',
  'id_number',
]

/**
 * The four product lists of /link/token/create. The spec wants no product in two of them, and
 * says `balance` is no valid value in `products` or `additional_consented_products` (Balance
 * needs no initialization).
 */
const PRODUCT_LISTS = [
  'products',
  'required_if_supported_products',
  'optional_products',
  'additional_consented_products',
] as const
type ProductList = (typeof PRODUCT_LISTS)[number]
const productList: Rule = arrayOf(stringOf(PLAID_PRODUCTS))

function checkProductLists(body: Record<string, unknown>): Record<ProductList, string[]> {
  const lists = Object.fromEntries(
    PRODUCT_LISTS.map((name) => [name, (body[name] as string[] | null | undefined) ?? []]),
  ) as Record<ProductList, string[]>
  for (const name of ['products', 'additional_consented_products'] as const) {
    if (lists[name].includes('balance')) {
      throw invalidField(`${name} must not contain balance: Balance is initialized with any other product`)
    }
  }
  for (const [i, later] of PRODUCT_LISTS.entries()) {
    for (const earlier of PRODUCT_LISTS.slice(0, i)) {
      const shared = lists[later].filter((p) => lists[earlier].includes(p))
      if (shared.length > 0) {
        throw invalidField(`${earlier} and ${later} must not overlap; both contain: ${[...new Set(shared)].join(', ')}`)
      }
    }
  }
  if (
    lists.products.length === 0 &&
    (lists.required_if_supported_products.length > 0 || lists.optional_products.length > 0)
  ) {
    throw invalidField(
      'products must contain at least one product when required_if_supported_products or optional_products is set',
    )
  }
  return lists
}

/** Plaid: "The `redirect_uri` should not contain any query parameters" (the bank adds its own). */
const redirectUri: Rule = (value, name) => {
  url(value, name)
  const parsed = new URL(value as string)
  if (parsed.search !== '' || parsed.hash !== '') throw invalidField(`${name} must not contain query parameters`)
}

/** LinkTokenTransactions.days_requested: at most two years of history. */
const MAX_DAYS_REQUESTED = 730

/** `/link/token/create`, including update mode (an `access_token` names the Item to repair). */
export function linkEndpoints(api: EndpointRegistry): void {
  api.post('/link/token/create', (body, { tenant }) => {
    checkFields(body, {
      client_name: { required: true, rule: nonEmptyString },
      language: { required: true, rule: stringOf(PLAID_LANGUAGES) },
      country_codes: { required: true, rule: arrayOf(stringOf(PLAID_COUNTRY_CODES), { nonEmpty: true }) },
      user: {
        required: true,
        rule: object({
          client_user_id: { required: true, rule: nonEmptyString },
          ...Object.fromEntries(USER_FIELDS.map((f) => [f, { rule: anything }])),
        }),
      },
      ...Object.fromEntries(PRODUCT_LISTS.map((name) => [name, { rule: productList }])),
      webhook: { rule: url },
      redirect_uri: { rule: redirectUri },
      access_token: { rule: nonEmptyString },
      update: {
        rule: object({
          account_selection_enabled: { rule: boolean },
          reauthorization_enabled: { rule: boolean },
          user: { rule: boolean },
          item_ids: { rule: arrayOf(nonEmptyString) },
        }),
      },
      // LinkTokenTransactions: how far back the new Item's history goes (spec: integer, 1 to 730).
      transactions: { rule: object({ days_requested: { rule: integer(1, MAX_DAYS_REQUESTED) } }) },
      ...Object.fromEntries(OTHER_FIELDS.map((f) => [f, { rule: anything }])),
    })
    const lists = checkProductLists(body)
    if (body.access_token === undefined && lists.products.length === 0) {
      // Outside update mode Plaid needs at least one product to initialize the Item with.
      throw invalidField('products must be a non-empty array unless access_token is set (update mode)')
    }
    // Update mode needs a live Item of this client: an unknown token is INVALID_ACCESS_TOKEN and a
    // removed Item's is ITEM_NOT_FOUND. An Item in ITEM_LOGIN_REQUIRED is exactly what it is for.
    const item = typeof body.access_token === 'string' ? tenant.itemForAccessToken(body.access_token) : null
    const linkToken = `link-sandbox-${crypto.randomUUID()}`
    const expiresAt = tenant.now() + LINK_TOKEN_TTL_MS
    tenant.linkTokens.set(linkToken, {
      expiresAt,
      clientUserId: (body.user as { client_user_id: string }).client_user_id,
      redirectUri: (body.redirect_uri as string | undefined) ?? null,
      countryCodes: body.country_codes as string[],
      products: lists.products,
      // Kept as sent (null when absent), so a test can tell "not sent" from "sent empty".
      requiredIfSupportedProducts: (body.required_if_supported_products as string[] | undefined) ?? null,
      optionalProducts: (body.optional_products as string[] | undefined) ?? null,
      additionalConsentedProducts: (body.additional_consented_products as string[] | undefined) ?? null,
      // Plaid ignores `webhook` in update mode (an Item's webhook changes via /item/webhook/update).
      webhook: item ? null : ((body.webhook as string | undefined) ?? null),
      itemId: item?.id ?? null,
      // Kept as sent, update mode included, so a test can tell whether it was sent; only a new
      // Item's history uses it (the spec: it cannot change once an Item has Transactions).
      daysRequested:
        (body.transactions as { days_requested?: number | null } | null | undefined)?.days_requested ?? null,
      accountSelection:
        item !== null &&
        (body.update as { account_selection_enabled?: boolean } | undefined)?.account_selection_enabled === true,
    })
    return { link_token: linkToken, expiration: isoSeconds(expiresAt) }
  })
}

/**
 * The Item a new-Item Link session with `token` creates at `institution` (with `accounts`, else
 * the Sandbox defaults): `products` (Link offers no institution lacking one of them), plus those of
 * `required_if_supported_products` and `optional_products` the institution supports (consented
 * products are not initialized), the token's webhook, and a transaction history as long as the
 * token's `transactions.days_requested`.
 */
export function linkedItem(
  tenant: Tenant,
  token: LinkToken,
  institution: Institution,
  accounts?: Omit<Account, 'id'>[],
): { item: Item } | { missing: string[] } {
  const supported = (products: string[] | null) => (products ?? []).filter((p) => institution.products.includes(p))
  const missing = token.products.filter((p) => !institution.products.includes(p))
  if (missing.length > 0) return { missing }
  const item = tenant.createItem({
    institution,
    products: [
      ...token.products,
      ...supported(token.requiredIfSupportedProducts),
      ...supported(token.optionalProducts),
    ],
    accounts,
    webhook: token.webhook,
    clientUserId: token.clientUserId,
    // Link tokens saved by an earlier emulator have no daysRequested: the Item gets the default.
    transactionsOptions: { daysRequested: token.daysRequested ?? undefined },
  })
  return { item }
}
