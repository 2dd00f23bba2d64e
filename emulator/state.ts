/**
 * What the emulator remembers for one Plaid client (a `Tenant`): injected faults, call counts,
 * and Items with their accounts and tokens, modelled on Plaid's Sandbox. Endpoint modules turn
 * this model into Plaid's JSON shapes; the rules about which token is valid live here so every
 * endpoint answers a bad, expired or revoked token the same way.
 */
import { sandboxAccounts } from './data/institutions'
import type { Fault } from './faults'
import { plaidId } from './ids'
import type { Account, Institution, Item, LinkToken, PublicToken, TransactionsOptions, WebhookDelivery } from './model'
import { type EmulatedPlaidError, invalidInput, itemError } from './plaid-error'
import { DEFAULT_HISTORY_DAYS, TransactionLog } from './transactions/log'
import { WebhookKeys } from './webhooks/keys'

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
 * Moves the Item's balances by the next drift, as a real-time balance call or new activity at the
 * bank would: money moves in accounts with an available balance (checking, savings); a CD and a
 * credit card stay put.
 */
export function driftBalances(item: Item, moved: (account: Account) => boolean = () => true): void {
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

/** Plaid's timestamps: ISO 8601 in UTC, to the second. */
export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * The Item's log, created on first use. Its history spans `days_requested` days when the Item was
 * created with it (or `/transactions/sync` initializes the product with it), else 30 days: a
 * modest history rather than Plaid's default 90, so tests see few transactions unless they ask.
 */
export function transactionLog(item: Item, daysRequested?: number): TransactionLog {
  item.transactions ??= new TransactionLog(
    item.id,
    item.accounts,
    item.createdAt,
    item.transactionsOptions.daysRequested ?? daysRequested ?? DEFAULT_HISTORY_DAYS,
  )
  return item.transactions
}
