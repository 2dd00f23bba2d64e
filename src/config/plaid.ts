import { EMULATOR_CLIENT_ID, EMULATOR_SECRET, EMULATOR_URL } from '../dev-defaults'
import { secretHow } from './auth'
import { COUNTRY_CODES, LANGUAGES, PRODUCTS } from './plaid-enums'
import { isLoopback, isReservedHost, isUnset, type Reader } from './reader'
import type { Bindings } from './settings'

const PLAID_HOSTS = {
  sandbox: 'https://sandbox.plaid.com',
  production: 'https://production.plaid.com',
} as const

/** Where Plaid is and how long a call to it may take. */
type PlaidConnection = Pick<PlaidConfig, 'baseUrl' | 'clientId' | 'secret' | 'timeoutMs' | 'balanceTimeoutMs'>
/** What every link token asks Link for. */
type LinkSettings = Omit<PlaidConfig, keyof PlaidConnection | 'clientName' | 'language'>

export type PlaidConfig = {
  baseUrl: string
  clientId: string
  secret: string
  timeoutMs: number
  balanceTimeoutMs: number
  clientName: string
  products: string[]
  /** Sent as `required_if_supported_products` for new Items; empty when unset. */
  requiredIfSupportedProducts: string[]
  /** Sent as `optional_products` for new Items; empty when unset. */
  optionalProducts: string[]
  /** Sent as `transactions.days_requested` for new Items only (update mode cannot change it). */
  transactionsDaysRequested: number
  countryCodes: string[]
  language: string
  webhookUrl?: string
  redirectUri?: string
}

/**
 * An explicit PLAID_BASE_URL wins; otherwise local development without credentials talks to the
 * emulator, and everything else to the host PLAID_ENV names.
 */
export function readPlaidConnection(r: Reader, env: Bindings, localDev: boolean): PlaidConnection {
  const envName =
    r.optional('PLAID_ENV', 'set it to sandbox or production', 'to use the default (sandbox)') ?? 'sandbox'
  if (envName === 'development') {
    r.problem(
      'PLAID_ENV',
      'PLAID_ENV names an environment Plaid decommissioned in June 2024; set it to sandbox or production',
    )
  } else if (!(envName in PLAID_HOSTS)) {
    r.problem('PLAID_ENV', 'PLAID_ENV must be sandbox or production')
  }
  // Plain http would send PLAID-SECRET in clear, so only to hosts that can never be public ones.
  const explicitBase = r.url(
    'PLAID_BASE_URL',
    'set it to the https:// URL of Plaid or of a proxy in front of it (plain http:// only in local development or for localhost, 127.0.0.1, [::1], *.localhost and *.test)',
    "to use Plaid's host for PLAID_ENV",
    (url) => localDev || isReservedHost(url),
  )
  // Local development without Plaid keys uses the emulator's keys wherever PLAID_BASE_URL points
  // (the emulator on another port, say); they open nothing at Plaid.
  const devKeys = localDev && isUnset(env.PLAID_CLIENT_ID) && isUnset(env.PLAID_SECRET)
  const baseUrl = explicitBase ?? (devKeys ? EMULATOR_URL : PLAID_HOSTS[envName as keyof typeof PLAID_HOSTS])
  const keyHow = (name: string) =>
    localDev
      ? `add it to .dev.vars, or delete both PLAID_CLIENT_ID and PLAID_SECRET there to use the emulator's keys`
      : secretHow(name)
  return {
    baseUrl: baseUrl ?? '',
    clientId: r.required('PLAID_CLIENT_ID', keyHow('PLAID_CLIENT_ID'), devKeys ? EMULATOR_CLIENT_ID : undefined),
    secret: r.required('PLAID_SECRET', keyHow('PLAID_SECRET'), devKeys ? EMULATOR_SECRET : undefined),
    // Link-token requests must answer within 10 s; balance checks at institutions take longer.
    timeoutMs: r.millis('PLAID_TIMEOUT_MS', 8000, 10_000),
    balanceTimeoutMs: r.millis('PLAID_BALANCE_TIMEOUT_MS', 30_000, 60_000),
  }
}

/** What Link shows: the app's name (Link's limit is 30 characters) and its language. */
export function readLinkDisplay(r: Reader): Pick<PlaidConfig, 'clientName' | 'language'> {
  const clientName = r.required(
    'PLAID_CLIENT_NAME',
    'set it in wrangler.toml [vars] to the app name Link should show, at most 30 characters',
  )
  if ([...clientName].length > 30) {
    r.problem(
      'PLAID_CLIENT_NAME',
      'PLAID_CLIENT_NAME is longer than 30 characters; shorten it, or Link shows "This Application" instead',
    )
  }
  const languageHow = `set it to one of: ${[...LANGUAGES].join(', ')}`
  const language = r.optional('PLAID_LANGUAGE', languageHow, 'to use the default (en)') ?? 'en'
  if (!LANGUAGES.has(language)) {
    r.problem('PLAID_LANGUAGE', `PLAID_LANGUAGE must be one of ${[...LANGUAGES].join(', ')}`)
  }
  return { clientName, language }
}

export function readLinkSettings(r: Reader, localDev: boolean): LinkSettings {
  return {
    ...products(r),
    // Plaid's maximum by default: the spec's own default (90 days) is too short for budgeting,
    // and an Item linked with less can only get more by being removed and linked again.
    transactionsDaysRequested: r.whole('PLAID_TRANSACTIONS_DAYS_REQUESTED', 730, 1, 730, 'days'),
    countryCodes: r.list(
      'PLAID_COUNTRY_CODES',
      'US',
      COUNTRY_CODES,
      'country code',
      `set it to a comma list of upper-case codes from: ${[...COUNTRY_CODES].join(', ')}`,
    ),
    webhookUrl: r.url(
      'PLAID_WEBHOOK_URL',
      "set it to the https:// URL of this API's webhook route (https://<host>/api/v1/banking/webhooks)",
      'to create Items without webhooks',
      (url) => localDev || isLoopback(url),
    ),
    redirectUri: r.url(
      'PLAID_REDIRECT_URI',
      'set it to the https:// OAuth redirect URI registered in the Plaid Dashboard',
      'to link without OAuth redirects',
      (url) => localDev || isLoopback(url),
      { redirect: true },
    ),
  }
}

/**
 * The three product lists of /link/token/create. Plaid shows in Link only the banks that support
 * every one of `products`; the other two hide no bank. Plaid refuses a product named in two of
 * them, so that is a settings problem here rather than a 400 from Plaid on every link token.
 */
function products(r: Reader): Pick<PlaidConfig, 'products' | 'requiredIfSupportedProducts' | 'optionalProducts'> {
  const how = `set it to a comma list of: ${[...PRODUCTS].join(', ')}`
  const lists = {
    PLAID_PRODUCTS: r.list('PLAID_PRODUCTS', 'transactions,auth', PRODUCTS, 'product', how),
    PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: r.optionalList(
      'PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS',
      'to ask for none',
      PRODUCTS,
      'product',
      how,
    ),
    PLAID_OPTIONAL_PRODUCTS: r.optionalList('PLAID_OPTIONAL_PRODUCTS', 'to ask for none', PRODUCTS, 'product', how),
  }
  const names = Object.keys(lists) as (keyof typeof lists)[]
  for (const [i, later] of names.entries()) {
    for (const earlier of names.slice(0, i)) {
      if (r.isBad(earlier) || r.isBad(later)) continue
      if (lists[later].some((product) => lists[earlier].includes(product))) {
        r.problem(
          later,
          `${later} names a product that ${earlier} names too; list each product in only one of ${names.join(', ')}`,
        )
      }
    }
  }
  return {
    products: lists.PLAID_PRODUCTS,
    requiredIfSupportedProducts: lists.PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS,
    optionalProducts: lists.PLAID_OPTIONAL_PRODUCTS,
  }
}
