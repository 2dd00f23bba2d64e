/**
 * Every binding, secret and var the Worker reads, and the one place they are parsed and
 * validated. Secrets are set with `wrangler secret put NAME` (locally in `.dev.vars`); vars live
 * in `wrangler.toml`.
 */
import {
  DEV_CLIENT_USER_ID_KEY,
  DEV_JWT_SECRET,
  DEV_TOKEN_ENCRYPTION_KEY,
  EMULATOR_CLIENT_ID,
  EMULATOR_SECRET,
  EMULATOR_URL,
} from './dev-defaults'
import { ConfigError } from './errors'
import type { QueueJob } from './queue/jobs'
import { PENDING_LINK_GRACE_MS } from './store/pending-links'
import type { UserStore } from './store/user-store'

export type Bindings = {
  /** D1 database: the global index (which user holds an Item, its key id) and dead webhook jobs. */
  DB?: D1Database
  /** Durable Objects: one per user, holding that user's Items, accounts and transactions. */
  USER_STORE?: DurableObjectNamespace<UserStore>
  /** Rate limiting binding: per-user budget of requests that reach Plaid. */
  PLAID_RATE_LIMITER?: RateLimit
  /** Queue: verified Plaid webhooks, worked off by this Worker's queue() handler. */
  WEBHOOK_QUEUE?: Queue<QueueJob>
  /** Secret: base64 of 32 random bytes that seals access tokens (openssl rand -base64 32). */
  TOKEN_ENCRYPTION_KEY?: string
  /** Secret: comma list of previous TOKEN_ENCRYPTION_KEY values, still accepted for reading. */
  TOKEN_ENCRYPTION_KEYS_OLD?: string
  /**
   * Secret: base64 of 32 random bytes that keys the hash of the user id sent to Plaid as
   * `client_user_id` (openssl rand -base64 32). Changing it gives every user a new one at Plaid.
   */
  PLAID_CLIENT_USER_ID_KEY?: string
  /** Var: milliseconds before /accounts/balance/get is abandoned (default 30000, at most 60000). */
  PLAID_BALANCE_TIMEOUT_MS?: string
  /** Secret: HMAC key for the bearer JWTs the frontend sends. */
  JWT_SECRET?: string
  /** Var: HS256 (default), HS384 or HS512; with JWT_JWKS_URL, a comma list such as RS256,ES256. */
  JWT_ALG?: string
  /** Var: an identity provider's JWKS URL (Auth0, Clerk, Supabase, Cognito...); replaces JWT_SECRET. */
  JWT_JWKS_URL?: string
  /** Var: seconds of clock difference allowed on a token's `exp`, `nbf` and `iat` (default 60, at most 300). */
  JWT_CLOCK_SKEW_SECONDS?: string
  /** Var: when set, the token's `iss` must equal it. */
  JWT_ISSUER?: string
  /** Var: when set, the token's `aud` must contain it. */
  JWT_AUDIENCE?: string
  /** Secret: Plaid `client_id` from the Plaid Dashboard (Team Settings > Keys). */
  PLAID_CLIENT_ID?: string
  /** Secret: Plaid secret for the environment named by PLAID_ENV. */
  PLAID_SECRET?: string
  /** Var: `sandbox` or `production`; picks Plaid's host. */
  PLAID_ENV?: string
  /** Var: overrides Plaid's host (the local emulator, a proxy, tests). */
  PLAID_BASE_URL?: string
  /** Var: URL Plaid calls with webhooks for Items linked through our link tokens (the hourly cron moves older Items to it). */
  PLAID_WEBHOOK_URL?: string
  /** Var: OAuth redirect URI registered in the Plaid Dashboard. */
  PLAID_REDIRECT_URI?: string
  /** Var: the app name Link shows, at most 30 characters. */
  PLAID_CLIENT_NAME?: string
  /** Var: comma list of Plaid products every new Item must have (default `transactions,auth`); hides banks without them. */
  PLAID_PRODUCTS?: string
  /** Var: comma list of products a new Item gets when its bank supports them; hides no bank. */
  PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS?: string
  /** Var: comma list of products Plaid adds best-effort; hides no bank, and failing to get one fails no link. */
  PLAID_OPTIONAL_PRODUCTS?: string
  /**
   * Var: days of transaction history a new Item gets, 1 to 730 (default 730, Plaid's maximum).
   * Plaid fixes it when the Item is linked: raising it later means removing the Item and linking again.
   */
  PLAID_TRANSACTIONS_DAYS_REQUESTED?: string
  /** Var: comma list of country codes (default `US`). */
  PLAID_COUNTRY_CODES?: string
  /** Var: Link's display language (default `en`). */
  PLAID_LANGUAGE?: string
  /** Var: milliseconds before a Plaid call is abandoned (default 8000, at most 10000). */
  PLAID_TIMEOUT_MS?: string
  /** Var: comma list of browser origins allowed to call the API (CORS). */
  ALLOWED_ORIGINS?: string
  /** Set only by `npm run dev` and the tests: turns on the development defaults. */
  LOCAL_DEV?: string
  /**
   * Var: `true` makes the hourly cron move users who have not come back from the D1 tables of
   * earlier releases into their objects, which are then placed near the cron (README, "Storage").
   */
  MOVE_IDLE_USERS?: string
  /** Secret: at least 32 characters; turns on the operator routes (/api/v1/operator/...) for its bearer. */
  OPERATOR_TOKEN?: string
  /**
   * Var: seconds a pending link waits before the user's object has it finished or removed at Plaid
   * (default 300, from 10 to 3600); shorter only for tests such as `npm run loadtest`.
   */
  PENDING_LINK_GRACE_SECONDS?: string
}

const PLAID_HOSTS = {
  sandbox: 'https://sandbox.plaid.com',
  production: 'https://production.plaid.com',
} as const

// Plaid's `Products` enum (OpenAPI spec, 2020-09-14) minus the ones Link cannot initialize with.
const PRODUCTS = new Set([
  'assets',
  'auth',
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
])
// Plaid's `CountryCode` enum.
const COUNTRY_CODES = new Set([
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
])
// The languages `/link/token/create` documents.
const LANGUAGES = new Set([
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
])
const JWT_ALGS = { HS256: 32, HS384: 48, HS512: 64 } as const
export type JwtAlg = keyof typeof JWT_ALGS

/** Algorithms an identity provider's JWKS may sign with (symmetric ones never: RFC 8725 3.1). */
export const JWKS_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'] as const
export type JwksAlg = (typeof JWKS_ALGS)[number]

/** How a token's signature is checked: the shared secret, or the identity provider's keys. */
type AuthVerification =
  | { mode: 'hmac'; secret: string; alg: JwtAlg }
  | { mode: 'jwks'; jwksUrl: string; algs: JwksAlg[] }

export type AuthConfig = AuthVerification & { issuer?: string; audience?: string; clockSkewSeconds: number }

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

export type TokenKeys = { current: Uint8Array; old: Uint8Array[] }

export type Config = {
  localDev: boolean
  auth: AuthConfig
  plaid: PlaidConfig
  db: D1Database
  users: DurableObjectNamespace<UserStore>
  webhookQueue: Queue<QueueJob>
  tokenKeys: TokenKeys
  /** Keys the hash of the user id that Plaid gets as `client_user_id` (src/plaid/client-user-id.ts). */
  clientUserIdKey: Uint8Array
  /** ALLOWED_ORIGINS: the browser origins that get CORS headers, each exactly as sent in `Origin`. */
  allowedOrigins: string[]
  /** OPERATOR_TOKEN: the bearer the operator routes require; unset, they answer 404. */
  operatorToken?: string
  /** PENDING_LINK_GRACE_SECONDS, in ms: how old a pending link is before it is settled (store/pending-links.ts). */
  pendingLinkGraceMs: number
}

/** This machine: the only hosts plain http may reach for settings other than PLAID_BASE_URL. */
const isLoopback = (url: URL) => ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)

/** Loopback, or names reserved by RFC 2606 / RFC 6761 (the tests' plaid.test): never a public host. */
const isReservedHost = (url: URL) =>
  isLoopback(url) || url.hostname.endsWith('.localhost') || url.hostname.endsWith('.test')

const isUnset = (raw: unknown) => raw === undefined || raw === null

/**
 * Collects every problem so one 500 names all the settings to fix, not just the first. No
 * message is built from a value: settings include secrets, and a detail reaches the caller.
 */
class Reader {
  readonly problems: string[] = []
  /** Settings already reported, so reading one twice does not report it twice; in report order. */
  private readonly reported = new Set<keyof Bindings>()
  constructor(private readonly env: Bindings) {}

  /** The settings named by the problems, for a readiness probe that lists what to fix. */
  get settings(): (keyof Bindings)[] {
    return [...this.reported]
  }

  problem(name: keyof Bindings, message: string): void {
    if (this.reported.has(name)) return
    this.reported.add(name)
    this.problems.push(message)
  }

  /** Whether the setting already has a problem (so a check built on its value is moot). */
  isBad(name: keyof Bindings): boolean {
    return this.reported.has(name)
  }

  /**
   * The value, or undefined when unset or unusable. A blank value is a problem, not "unset": an
   * empty `NAME=` line or `NAME = ""` is a mistake far more often than a wish for the default,
   * and a blank JWT_AUDIENCE taken as unset would quietly turn its check off.
   * `ifDeleted` says what deleting the setting does, when deleting it is a fix.
   */
  optional(name: keyof Bindings, how: string, ifDeleted?: string): string | undefined {
    const raw = this.env[name]
    if (isUnset(raw)) return undefined
    if (typeof raw !== 'string') {
      this.problem(name, `${name} must be text; quote its value in wrangler.toml (${name} = "...")`)
      return undefined
    }
    if (raw.trim() === '') {
      this.problem(name, `${name} is blank; ${how}${ifDeleted ? `, or delete it ${ifDeleted}` : ''}`)
      return undefined
    }
    if (raw !== raw.trim() || /^["'`]|["'`]$/.test(raw)) {
      this.problem(name, `${name} has leading or trailing spaces or quotes; store the bare value`)
      return undefined
    }
    return raw
  }

  /** The value, else `fallback` (a development default), else a problem saying how to set it. */
  required(name: keyof Bindings, how: string, fallback?: string): string {
    const value = this.optional(name, how, fallback === undefined ? undefined : 'to use the development default')
    if (value !== undefined) return value
    if (isUnset(this.env[name]) && fallback === undefined) this.problem(name, `${name} is not set; ${how}`)
    return isUnset(this.env[name]) ? (fallback ?? '') : ''
  }

  /** A comma list whose entries all come from `allowed`; `how` lists them. */
  list(name: keyof Bindings, fallback: string, allowed: ReadonlySet<string>, what: string, how: string): string[] {
    return this.entries(
      name,
      this.optional(name, how, `to use the default (${fallback})`) ?? fallback,
      allowed,
      what,
      how,
    )
  }

  /** Like list, but with no default: unset is the empty list, and `ifDeleted` says what that means. */
  optionalList(
    name: keyof Bindings,
    ifDeleted: string,
    allowed: ReadonlySet<string>,
    what: string,
    how: string,
  ): string[] {
    const value = this.optional(name, how, ifDeleted)
    return value === undefined ? [] : this.entries(name, value, allowed, what, how)
  }

  private entries(name: keyof Bindings, value: string, allowed: ReadonlySet<string>, what: string, how: string) {
    const items = value.split(',').map((s) => s.trim())
    if (items.some((s) => s === '')) {
      this.problem(name, `${name} has an empty entry; remove the extra comma (${how})`)
      return []
    }
    if (items.some((s) => !allowed.has(s))) this.problem(name, `${name} contains an unknown ${what}; ${how}`)
    return [...new Set(items)]
  }

  /** A whole number of milliseconds within [1, max]. */
  millis(name: keyof Bindings, fallback: number, max: number): number {
    return this.whole(name, fallback, 1, max, 'milliseconds')
  }

  /** A whole number of `unit` within [min, max], written in digits only (no 1e3, 0x10 or 30.0). */
  whole(name: keyof Bindings, fallback: number, min: number, max: number, unit: string): number {
    const rule = `a whole number of ${unit} from ${min} to ${max}`
    const raw = this.optional(name, `set it to ${rule}`, `to use the default (${fallback})`)
    const value = raw === undefined ? fallback : /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN
    if (!Number.isInteger(value) || value < min || value > max) this.problem(name, `${name} must be ${rule}`)
    return value
  }

  /** A 256-bit key given as base64 (standard or URL-safe). */
  key(name: keyof Bindings, raw: string | undefined): Uint8Array | undefined {
    if (raw === undefined) return undefined
    let bytes: Uint8Array | undefined
    try {
      bytes = Uint8Array.from(atob(raw.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
    } catch {
      bytes = undefined
    }
    if (bytes?.length !== 32) {
      this.problem(name, `${name} must be base64 of exactly 32 random bytes (openssl rand -base64 32)`)
      return undefined
    }
    return bytes
  }

  /** An absolute http(s) URL without trailing slashes; plain http only where `httpAllowed` says. */
  url(
    name: keyof Bindings,
    how: string,
    ifDeleted: string,
    httpAllowed: (url: URL) => boolean,
    { redirect = false } = {},
  ): string | undefined {
    const value = this.optional(name, how, ifDeleted)
    if (value === undefined) return undefined
    let url: URL
    try {
      url = new URL(value)
    } catch {
      this.problem(name, `${name} is not a valid absolute URL; ${how}`)
      return undefined
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed(url))) {
      this.problem(name, `${name} must be an https:// URL; ${how}`)
      return undefined
    }
    // Plaid takes a redirect URI without a query (the bank appends oauth_state_id) and compares it
    // with the Dashboard's list as written, trailing slash included.
    if (redirect) {
      if (url.search !== '' || url.hash !== '') {
        this.problem(name, `${name} must not contain a query or fragment; ${how}`)
        return undefined
      }
      return value
    }
    return value.replace(/\/+$/, '')
  }

  /** Browser origins exactly as a browser sends them in `Origin`, which is what CORS compares. */
  origins(name: keyof Bindings, how: string): string[] {
    const value = this.optional(name, how, 'to give no origin CORS headers')
    if (value === undefined) return []
    const parsed = parseOrigins(value)
    if ('origins' in parsed) return parsed.origins
    this.problem(
      name,
      parsed.problem === 'empty entry'
        ? `${name} has an empty entry; remove the extra comma (${how})`
        : `${name} contains an entry that is not an origin; ${how}`,
    )
    return []
  }
}

/**
 * A comma list of browser origins, or what is wrong with it. src/cors.ts reads ALLOWED_ORIGINS
 * through this too, apart from the other settings, so preflights are answered (or refused) the
 * same way even when another setting is broken.
 */
export function parseOrigins(value: string): { origins: string[] } | { problem: 'empty entry' | 'not an origin' } {
  const entries = value.split(',').map((s) => s.trim())
  if (entries.some((s) => s === '')) return { problem: 'empty entry' }
  const isOrigin = (entry: string) => {
    try {
      const url = new URL(entry)
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry
    } catch {
      return false
    }
  }
  if (!entries.every(isOrigin)) return { problem: 'not an origin' }
  return { origins: [...new Set(entries)] }
}

function parseConfig(env: Bindings): Config {
  const r = new Reader(env)
  const localDev = env.LOCAL_DEV === 'true'
  const secretHow = (name: string) => `run \`wrangler secret put ${name}\` (locally, add it to .dev.vars)`

  // Auth: an identity provider's JWKS when JWT_JWKS_URL is set, else the shared HMAC secret.
  const jwksUrl = r.url(
    'JWT_JWKS_URL',
    "set it to the https:// URL of your identity provider's JWKS",
    'to verify tokens with JWT_SECRET',
    (url) => localDev || isLoopback(url),
  )
  let verification: AuthVerification
  if (jwksUrl) {
    const how = `with JWT_JWKS_URL, set it to a comma list of: ${JWKS_ALGS.join(', ')} (HMAC algorithms need JWT_SECRET instead)`
    const algs = r.list('JWT_ALG', 'RS256', new Set<string>(JWKS_ALGS), 'algorithm for JWKS', how) as JwksAlg[]
    verification = { mode: 'jwks', jwksUrl, algs }
  } else {
    const how =
      'set it to HS256, HS384 or HS512 (or set JWT_JWKS_URL for tokens signed with a private key: RSA, ECDSA, EdDSA)'
    const algName = r.optional('JWT_ALG', how, 'to use the default (HS256)') ?? 'HS256'
    const alg = (algName in JWT_ALGS ? algName : 'HS256') as JwtAlg
    if (!(algName in JWT_ALGS)) {
      r.problem(
        'JWT_ALG',
        'JWT_ALG must be one of HS256, HS384, HS512; for tokens signed with a private key (RSA, ECDSA, EdDSA), set JWT_JWKS_URL',
      )
    }
    const secret = r.required('JWT_SECRET', secretHow('JWT_SECRET'), localDev ? DEV_JWT_SECRET : undefined)
    // RFC 7518 section 3.2: an HMAC key must be at least as long as the hash output.
    if (secret && new TextEncoder().encode(secret).length < JWT_ALGS[alg]) {
      r.problem(
        'JWT_SECRET',
        `JWT_SECRET is too short for ${alg}; use at least ${JWT_ALGS[alg]} bytes (openssl rand -base64 ${JWT_ALGS[alg]})`,
      )
    }
    verification = { mode: 'hmac', secret, alg }
  }

  // Plaid: an explicit PLAID_BASE_URL wins; otherwise local development without credentials
  // talks to the emulator, and everything else to the host PLAID_ENV names.
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
  const clientId = r.required('PLAID_CLIENT_ID', keyHow('PLAID_CLIENT_ID'), devKeys ? EMULATOR_CLIENT_ID : undefined)
  const secret = r.required('PLAID_SECRET', keyHow('PLAID_SECRET'), devKeys ? EMULATOR_SECRET : undefined)

  // Link-token requests must answer within 10 s; balance checks at institutions take longer.
  const timeoutMs = r.millis('PLAID_TIMEOUT_MS', 8000, 10_000)
  const balanceTimeoutMs = r.millis('PLAID_BALANCE_TIMEOUT_MS', 30_000, 60_000)

  // Storage
  if (!env.DB) r.problem('DB', 'DB (the D1 binding) is missing; add [[d1_databases]] to wrangler.toml')
  if (!env.USER_STORE) {
    r.problem(
      'USER_STORE',
      'USER_STORE (the Durable Object binding) is missing; add [[durable_objects.bindings]] to wrangler.toml',
    )
  }
  if (!env.WEBHOOK_QUEUE) {
    r.problem(
      'WEBHOOK_QUEUE',
      'WEBHOOK_QUEUE (the Queue binding) is missing; add [[queues.producers]] to wrangler.toml',
    )
  }
  const currentKey = r.key(
    'TOKEN_ENCRYPTION_KEY',
    r.required(
      'TOKEN_ENCRYPTION_KEY',
      secretHow('TOKEN_ENCRYPTION_KEY'),
      localDev ? DEV_TOKEN_ENCRYPTION_KEY : undefined,
    ) || undefined,
  )
  const clientUserIdKey = r.key(
    'PLAID_CLIENT_USER_ID_KEY',
    r.required(
      'PLAID_CLIENT_USER_ID_KEY',
      secretHow('PLAID_CLIENT_USER_ID_KEY'),
      localDev ? DEV_CLIENT_USER_ID_KEY : undefined,
    ) || undefined,
  )
  const oldKeys = (
    r.optional(
      'TOKEN_ENCRYPTION_KEYS_OLD',
      'set it to a comma list of previous TOKEN_ENCRYPTION_KEY values',
      'if no stored access token was sealed with a previous key',
    ) ?? ''
  )
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((k) => r.key('TOKEN_ENCRYPTION_KEYS_OLD', k))

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

  const config = {
    localDev,
    auth: {
      ...verification,
      issuer: r.optional('JWT_ISSUER', 'set it to the exact `iss` your tokens carry', 'to skip the issuer check'),
      audience: r.optional('JWT_AUDIENCE', 'set it to an `aud` your tokens must contain', 'to skip the audience check'),
      // The identity provider's clock and Cloudflare's differ by a little; a minute covers
      // ordinary drift, and five minutes (RFC 7519's "a few minutes") is as far as it goes.
      clockSkewSeconds: r.whole('JWT_CLOCK_SKEW_SECONDS', 60, 0, 300, 'seconds'),
    },
    plaid: {
      baseUrl: baseUrl ?? '',
      clientId,
      secret,
      timeoutMs,
      balanceTimeoutMs,
      clientName,
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
      language,
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
    },
    operatorToken: operatorToken(r),
    // Longer than any exchange request takes (Plaid's timeouts and retries included), or the
    // background job would settle a link its request is still storing.
    pendingLinkGraceMs: r.whole('PENDING_LINK_GRACE_SECONDS', PENDING_LINK_GRACE_MS / 1000, 10, 3600, 'seconds') * 1000,
    allowedOrigins: r.origins(
      'ALLOWED_ORIGINS',
      'set it to a comma list of origins exactly as browsers send them, such as https://app.example.com,http://localhost:5173 (scheme://host[:port] in lower case, no path, no trailing slash, no wildcard)',
    ),
  }
  if (r.problems.length > 0 || !env.DB || !env.USER_STORE || !env.WEBHOOK_QUEUE || !currentKey || !clientUserIdKey) {
    throw new ConfigError(r.problems, r.settings)
  }
  return {
    ...config,
    db: env.DB,
    users: env.USER_STORE,
    webhookQueue: env.WEBHOOK_QUEUE,
    tokenKeys: { current: currentKey, old: oldKeys.filter((k) => k !== undefined) },
    clientUserIdKey,
  }
}

/** The operator routes' bearer secret: long enough that it cannot be guessed. */
function operatorToken(r: Reader): string | undefined {
  const how = 'set it to at least 32 random characters (openssl rand -base64 32 | wrangler secret put OPERATOR_TOKEN)'
  const value = r.optional('OPERATOR_TOKEN', how, 'to turn the operator routes off')
  if (value !== undefined && value.length < 32) {
    r.problem('OPERATOR_TOKEN', `OPERATOR_TOKEN is shorter than 32 characters; ${how}`)
    return undefined
  }
  return value
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

// Bindings are fixed for the life of an isolate, so each env object is parsed once.
const parsed = new WeakMap<Bindings, Config | ConfigError>()

/** The validated settings for this env; throws ConfigError naming every bad setting. */
export function getConfig(env: Bindings): Config {
  let result = parsed.get(env)
  if (result === undefined) {
    try {
      result = parseConfig(env)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      result = error
    }
    parsed.set(env, result)
  }
  if (result instanceof ConfigError) throw result
  return result
}
