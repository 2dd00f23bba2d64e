/**
 * What the emulator remembers for one Plaid client (a `Tenant`): injected faults, call counts,
 * and Items with their accounts and tokens, modelled on Plaid's Sandbox. Endpoint modules turn
 * this model into Plaid's JSON shapes; the rules about which token is valid live here so every
 * endpoint answers a bad, expired or revoked token the same way.
 */
import type { Fault } from './faults'
import { type EmulatedPlaidError, invalidInput, itemError } from './plaid-error'
import type { TransactionLog } from './transactions'
import { type WebhookDelivery, WebhookKeys } from './webhooks'

/**
 * Plaid's Sandbox institutions the emulator knows (a small part of Plaid's catalog). At an `oauth`
 * institution the user logs in on the bank's own site, not in Link (./link-ui/oauth.ts). At one
 * that `invalidatesOlderItems`, a new Item of a login ends that login's older Items unless both
 * share the same accounts (Plaid support, "How do duplicate Items work with Chase?": the older
 * Item "will become invalidated when the user completes the institution's OAuth flow", and stays
 * healthy only when the new Item "has the same permissioned accounts").
 */
export type Institution = {
  id: string
  name: string
  products: readonly string[]
  oauth: boolean
  invalidatesOlderItems: boolean
}

// Plaid's Sandbox banks all support the common products; `balance` is listed because Plaid shows
// it in `available_products` (it is billed per call, so it never becomes a billed product).
const SANDBOX_PRODUCTS = [
  'assets',
  'auth',
  'balance',
  'identity',
  'identity_match',
  'income_verification',
  'investments',
  'liabilities',
  'signal',
  'statements',
  'transactions',
  'transfer',
]

export const INSTITUTIONS: ReadonlyMap<string, Institution> = new Map(
  [
    { id: 'ins_109508', name: 'First Platypus Bank' },
    { id: 'ins_109509', name: 'First Gingham Credit Union' },
    { id: 'ins_109510', name: 'Tattersall Federal Credit Union' },
    { id: 'ins_109511', name: 'Tartan Bank' },
    { id: 'ins_109512', name: 'Houndstooth Bank' },
    // "The OAuth Sandbox institution", as Plaid's spec calls it.
    { id: 'ins_127287', name: 'Platypus OAuth Bank', oauth: true },
    // Chase has the same id in Sandbox and Production (the spec's persistent_account_id names it).
    { id: 'ins_56', name: 'Chase', oauth: true, invalidatesOlderItems: true },
  ].map((i) => [i.id, { oauth: false, invalidatesOlderItems: false, ...i, products: SANDBOX_PRODUCTS }]),
)

export type Balances = {
  available: number | null
  current: number | null
  limit: number | null
  isoCurrencyCode: string
}

export type Account = {
  id: string
  name: string
  officialName: string | null
  mask: string
  type: 'depository' | 'credit' | 'loan' | 'investment'
  subtype: string
  balances: Balances
}

/** An error the Item is in (e.g. ITEM_LOGIN_REQUIRED) and since when. */
export type ItemErrorState = { error: EmulatedPlaidError; since: number }

/** Options that shape the Item's transaction history (from `options.transactions`). */
export type TransactionsOptions = { startDate?: string; endDate?: string; daysRequested?: number }

/** One linked bank connection. Times are epoch milliseconds from the tenant's clock. */
export type Item = {
  id: string
  /** Issued when the public token is exchanged; null until then. */
  accessToken: string | null
  institution: Institution
  /**
   * False for Items Plaid reports with a null institution_id (e.g. linked through Same Day
   * Micro-deposits rather than an institution connection).
   */
  institutionKnown: boolean
  /** The products the Item was initialized with (Plaid's `products` and `billed_products`). */
  products: string[]
  /** Where Plaid would send this Item's webhooks. */
  webhook: string | null
  userId: string | null
  /** The app's user the Item was linked for, through Link (`user.client_user_id`); null otherwise. */
  clientUserId: string | null
  createdAt: number
  accounts: Account[]
  error: ItemErrorState | null
  /** Removed Items stay here so their access tokens answer ITEM_NOT_FOUND, not INVALID_ACCESS_TOKEN. */
  removed: boolean
  /** How many times the balances changed (drives their drift). */
  balanceRefreshes: number
  /** When `/accounts/balance/get` was called for the Item in the last minute (Plaid's per-Item limit). */
  balanceCalls: number[]
  transactionsOptions: TransactionsOptions
  /** What `/item/get` reports as `status`. */
  lastSuccessfulUpdate: number | null
  lastFailedUpdate: number | null
  lastWebhook: { sentAt: number; code: string } | null
  /** Whether Plaid has pulled transactions yet; while false, /transactions/sync answers NOT_READY. */
  transactionsReady: boolean
  /**
   * Whether `/transactions/sync` has been called on the Item. Plaid sends SYNC_UPDATES_AVAILABLE
   * only for Items on which it has (SyncUpdatesAvailableWebhook in Plaid's spec).
   */
  syncCalled: boolean
  /** Created on first use (see transactionLog in ./transactions.ts). */
  transactions: TransactionLog | null
}

export type PublicToken = { itemId: string; expiresAt: number }

/** A link token, kept so a Link session can later be completed against it. */
export type LinkToken = {
  expiresAt: number
  clientUserId: string
  redirectUri: string | null
  countryCodes: string[]
  /** Every Item linked with it gets these; Link offers no institution lacking one. */
  products: string[]
  /** Added to the Item when its institution supports them; null when the request had none. */
  requiredIfSupportedProducts: string[] | null
  /** Added best-effort, when the institution supports them; null when the request had none. */
  optionalProducts: string[] | null
  /** Consent only, never initialized at link time; null when the request had none. */
  additionalConsentedProducts: string[] | null
  webhook: string | null
  /** Update mode: the Item the session repairs. */
  itemId: string | null
  /** `transactions.days_requested` as sent (null when not): a new Item's history, in days; update mode ignores it. */
  daysRequested: number | null
  /** Update mode: whether Link lets the user change which accounts the Item shares. */
  accountSelection: boolean
}

/** Plaid public tokens live 30 minutes. */
export const PUBLIC_TOKEN_TTL_MS = 30 * 60_000
/** Plaid link tokens live 4 hours. */
export const LINK_TOKEN_TTL_MS = 4 * 3600_000

const LOGIN_REQUIRED_MESSAGE =
  "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state"

const TOKEN_PATTERN = (type: string) =>
  new RegExp(`^${type}-(sandbox|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
const ACCESS_TOKEN = TOKEN_PATTERN('access')
const PUBLIC_TOKEN = TOKEN_PATTERN('public')

/** Everything the emulator keeps for one Plaid client (team). */
export class Tenant {
  readonly faults: Fault[] = []
  readonly calls = new Map<string, number>()
  /** Items by item_id, removed ones included. */
  readonly items = new Map<string, Item>()
  /** access_token → item_id. */
  readonly accessTokens = new Map<string, string>()
  /** public_token → Item; an entry is deleted when exchanged, which makes it one-time use. */
  readonly publicTokens = new Map<string, PublicToken>()
  readonly linkTokens = new Map<string, LinkToken>()
  /** The keys that sign this client's webhooks. */
  readonly webhookKeys: WebhookKeys
  /** Webhooks kept for the control API when the emulator runs with an outbox (tests). */
  readonly webhookOutbox: WebhookDelivery[] = []

  /** `now` is injectable so tests can move time (token expiry) without waiting. */
  constructor(readonly now: () => number = Date.now) {
    this.webhookKeys = new WebhookKeys(now)
  }

  /** A new Item with Plaid Sandbox's default accounts (as `user_good` gets), or `accounts`. */
  createItem(input: {
    institution: Institution
    products: string[]
    accounts?: Omit<Account, 'id'>[]
    webhook?: string | null
    userId?: string | null
    clientUserId?: string | null
    transactionsOptions?: TransactionsOptions
  }): Item {
    const now = this.now()
    const item: Item = {
      id: this.uniqueId((id) => this.items.has(id)),
      accessToken: null,
      institution: input.institution,
      institutionKnown: true,
      products: [...new Set(input.products)].filter((p) => p !== 'balance'),
      webhook: input.webhook ?? null,
      userId: input.userId ?? null,
      clientUserId: input.clientUserId ?? null,
      createdAt: now,
      accounts: input.accounts
        ? input.accounts.map((account) => ({ ...account, id: this.uniqueId((id) => this.hasAccount(id)) }))
        : sandboxAccounts(() => this.uniqueId((id) => this.hasAccount(id))),
      error: null,
      removed: false,
      balanceRefreshes: 0,
      balanceCalls: [],
      transactionsOptions: input.transactionsOptions ?? {},
      lastSuccessfulUpdate: now,
      lastFailedUpdate: null,
      lastWebhook: null,
      transactionsReady: true,
      syncCalled: false,
      transactions: null,
    }
    if (item.institution.invalidatesOlderItems) this.invalidateOlderItems(item)
    this.items.set(item.id, item)
    return item
  }

  /**
   * The new Item's login ends its older Items at an institution that allows one Item per login,
   * unless they share exactly the same accounts. A login is recognized by the app user it was
   * linked for and an account in common (same name and mask).
   */
  private invalidateOlderItems(item: Item): void {
    const ids = (i: Item) => new Set(i.accounts.map((a) => `${a.name}\u0000${a.mask}`))
    const mine = ids(item)
    for (const older of this.items.values()) {
      if (older.removed || older.institution.id !== item.institution.id || older.clientUserId !== item.clientUserId)
        continue
      const theirs = ids(older)
      const shared = [...theirs].some((a) => mine.has(a))
      const same = shared && theirs.size === mine.size && [...theirs].every((a) => mine.has(a))
      if (shared && !same) this.requireLogin(older)
    }
  }

  issuePublicToken(item: Item): string {
    const token = `public-sandbox-${crypto.randomUUID()}`
    this.publicTokens.set(token, { itemId: item.id, expiresAt: this.now() + PUBLIC_TOKEN_TTL_MS })
    return token
  }

  /** Spends a public token: the Item gets its access token. Throws Plaid's INVALID_PUBLIC_TOKEN. */
  exchangePublicToken(token: string): Item {
    if (!PUBLIC_TOKEN.test(token)) {
      throw invalidInput(
        'INVALID_PUBLIC_TOKEN',
        'provided public token is in an invalid format. expected format: public-<environment>-<identifier>',
      )
    }
    const entry = this.publicTokens.get(token)
    const item = entry && this.items.get(entry.itemId)
    if (!entry || !item || item.removed) {
      throw invalidInput('INVALID_PUBLIC_TOKEN', 'could not find matching public token')
    }
    this.publicTokens.delete(token)
    if (this.now() >= entry.expiresAt) {
      throw invalidInput(
        'INVALID_PUBLIC_TOKEN',
        'provided public token is expired. Public tokens expire 30 minutes after creation at which point they can no longer be exchanged',
      )
    }
    if (item.accessToken === null) {
      item.accessToken = `access-sandbox-${crypto.randomUUID()}`
      this.accessTokens.set(item.accessToken, item.id)
    }
    return item
  }

  /**
   * The live Item an access token belongs to. A malformed or never-issued token (or one issued
   * to another client) is INVALID_ACCESS_TOKEN; the token of a removed Item is ITEM_NOT_FOUND.
   */
  itemForAccessToken(token: string): Item {
    if (!ACCESS_TOKEN.test(token)) {
      throw invalidInput(
        'INVALID_ACCESS_TOKEN',
        'provided access token is in an invalid format. expected format: access-<environment>-<identifier>',
      )
    }
    const itemId = this.accessTokens.get(token)
    const item = itemId === undefined ? undefined : this.items.get(itemId)
    if (!item) throw invalidInput('INVALID_ACCESS_TOKEN', 'could not find matching access token')
    if (item.removed) throw itemNotFound()
    return item
  }

  /** What `/sandbox/item/reset_login` does (and a password change at the bank would). Returns the Item's error. */
  requireLogin(item: Item): EmulatedPlaidError {
    if (item.error?.error.errorCode === 'ITEM_LOGIN_REQUIRED') return item.error.error
    const since = this.now()
    item.error = { error: itemError('ITEM_LOGIN_REQUIRED', LOGIN_REQUIRED_MESSAGE), since }
    item.lastFailedUpdate = since
    return item.error.error
  }

  /** What finishing Link's update mode does: the Item is healthy again and refreshes. */
  repair(item: Item): void {
    item.error = null
    item.lastSuccessfulUpdate = this.now()
  }

  remove(item: Item): void {
    item.removed = true
    for (const [token, entry] of this.publicTokens) if (entry.itemId === item.id) this.publicTokens.delete(token)
  }

  private hasAccount(id: string): boolean {
    for (const item of this.items.values()) if (item.accounts.some((a) => a.id === id)) return true
    return false
  }

  private uniqueId(taken: (id: string) => boolean): string {
    let id = plaidId()
    while (taken(id)) id = plaidId()
    return id
  }
}

export const itemNotFound = () =>
  itemError(
    'ITEM_NOT_FOUND',
    'The Item you requested cannot be found. This Item does not exist, has been previously removed via /item/remove, or has had access removed by the user.',
  )

export const isLoginRequired = (item: Item) => item.error?.error.errorCode === 'ITEM_LOGIN_REQUIRED'

// Balance changes applied one per `/accounts/balance/get`, cycling: deterministic so tests can
// predict them, small and mixed in sign so balances wander without drifting far.
const BALANCE_DRIFT = [1.25, -0.5, 2.75, -1.5, 0.35]

/**
 * Refreshes the Item's balances as a real-time balance call would: money moves in accounts with
 * an available balance (checking, savings); a CD and a credit card stay put.
 */
export function refreshBalances(item: Item, moved: (account: Account) => boolean = () => true): void {
  const drift = BALANCE_DRIFT[item.balanceRefreshes % BALANCE_DRIFT.length] ?? 0
  item.balanceRefreshes++
  for (const account of item.accounts) {
    const { type, balances } = account
    if (!moved(account)) continue
    if (type !== 'depository' || balances.available === null || balances.current === null) continue
    balances.available = cents(balances.available + drift)
    balances.current = cents(balances.current + drift)
  }
}

const cents = (n: number) => Math.round(n * 100) / 100

/** The accounts Plaid Sandbox gives an Item linked with user_good / pass_good. */
function sandboxAccounts(newId: () => string): Account[] {
  const usd = (available: number | null, current: number, limit: number | null = null): Balances => ({
    available,
    current,
    limit,
    isoCurrencyCode: 'USD',
  })
  return [
    {
      id: newId(),
      name: 'Plaid Checking',
      officialName: 'Plaid Gold Standard 0% Interest Checking',
      mask: '0000',
      type: 'depository',
      subtype: 'checking',
      balances: usd(100, 110),
    },
    {
      id: newId(),
      name: 'Plaid Saving',
      officialName: 'Plaid Silver Standard 0.1% Interest Saving',
      mask: '1111',
      type: 'depository',
      subtype: 'savings',
      balances: usd(200, 210),
    },
    {
      id: newId(),
      name: 'Plaid CD',
      officialName: 'Plaid Bronze Standard 0.2% Interest CD',
      mask: '2222',
      type: 'depository',
      subtype: 'cd',
      balances: usd(null, 1000),
    },
    {
      id: newId(),
      name: 'Plaid Credit Card',
      officialName: 'Plaid Diamond 12.5% APR Interest Credit Card',
      mask: '3333',
      type: 'credit',
      subtype: 'credit card',
      balances: usd(null, 410, 2000),
    },
  ]
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** An identifier shaped like Plaid's item_id / account_id: 37 base62 characters. */
export function plaidId(length = 37): string {
  // 248 = 4 × 62: dropping bytes at or above it keeps every character equally likely.
  let id = ''
  while (id.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length))) {
      if (b < 248 && id.length < length) id += BASE62[b % 62]
    }
  }
  return id
}

/** Plaid's timestamps: ISO 8601 in UTC, to the second. */
export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
