/**
 * Plaid's webhooks: each tenant's ES256 signing keys (what `/webhook_verification_key/get` serves),
 * the `Plaid-Verification` JWT over the exact body bytes, the webhook bodies Plaid sends, and
 * their delivery: POSTed to the Item's URL after the answer (as Plaid does), or kept in the
 * tenant's outbox for tests to collect.
 */
import type { EmulatedPlaidError } from './plaid-error'
import type { Item, Tenant } from './state'

/** A webhook as it goes over the wire. */
export type WebhookDelivery = { url: string; headers: Record<string, string>; body: string }
export type DeliverWebhook = (delivery: WebhookDelivery) => void | Promise<void>

/** One signing key. Times are Unix seconds, as JWKPublicKey has them. */
export type SigningKey = {
  kid: string
  privateKey: CryptoKey
  x: string
  y: string
  createdAt: number
  expiredAt: number | null
}

/** A signing key as the state file keeps it. */
export type ExportedSigningKey = { kid: string; jwk: JsonWebKey; createdAt: number; expiredAt: number | null }

const seconds = (ms: number) => Math.floor(ms / 1000)
const base64Url = (bytes: ArrayBuffer | Uint8Array) => Buffer.from(new Uint8Array(bytes)).toString('base64url')
const encoder = new TextEncoder()

/**
 * A tenant's signing keys, oldest first; the last is current. Keys are generated on first use and
 * are per tenant, so another client's key id is as unknown here as a key from another environment.
 */
export class WebhookKeys {
  private readonly keys: SigningKey[] = []
  private first: Promise<SigningKey> | undefined
  /** `/webhook_verification_key/get` calls by the key_id asked for, known or not. */
  readonly lookups = new Map<string, number>()

  constructor(private readonly now: () => number) {}

  /** The key that signs webhooks now (created on first use). */
  current(): Promise<SigningKey> {
    const last = this.keys.at(-1)
    if (last) return Promise.resolve(last)
    // Concurrent first calls share one key rather than racing to create two.
    this.first ??= this.create()
    return this.first
  }

  /** The key that was current before the last rotation. */
  previous(): SigningKey | undefined {
    return this.keys.at(-2)
  }

  /** What `/webhook_verification_key/get` serves for `kid`, counted so tests can see how often a receiver asked. */
  lookUp(kid: string): SigningKey | undefined {
    this.lookups.set(kid, (this.lookups.get(kid) ?? 0) + 1)
    return this.keys.find((k) => k.kid === kid)
  }

  all(): readonly SigningKey[] {
    return this.keys
  }

  /** The keys, private parts included, as JWKs (for the emulator's state file, emulator/persist.ts). */
  async export(): Promise<ExportedSigningKey[]> {
    return Promise.all(
      this.keys.map(async ({ privateKey, kid, createdAt, expiredAt }) => ({
        kid,
        jwk: await crypto.subtle.exportKey('jwk', privateKey),
        createdAt,
        expiredAt,
      })),
    )
  }

  /** Puts back keys that export() gave, oldest first, after any this tenant has already. */
  async import(keys: readonly ExportedSigningKey[]): Promise<void> {
    for (const { kid, jwk, createdAt, expiredAt } of keys) {
      const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
      ])
      if (!jwk.x || !jwk.y) throw new Error(`signing key ${kid} has no public coordinates`)
      this.keys.push({ kid, privateKey, x: jwk.x, y: jwk.y, createdAt, expiredAt })
    }
  }

  /** A new current key; the old one stays valid unless `expirePrevious` expires it now. */
  async rotate(expirePrevious: boolean): Promise<SigningKey> {
    const previous = await this.current()
    const key = await this.create()
    if (expirePrevious) previous.expiredAt = seconds(this.now())
    return key
  }

  private async create(): Promise<SigningKey> {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
    const { x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey)
    if (!x || !y) throw new Error('WebCrypto exported a P-256 key without coordinates')
    const key = {
      kid: crypto.randomUUID(),
      privateKey: pair.privateKey,
      x,
      y,
      createdAt: seconds(this.now()),
      expiredAt: null,
    }
    this.keys.push(key)
    return key
  }
}

/** The spec's JWKPublicKey. */
export function jwkPublicKey(key: SigningKey) {
  return {
    alg: 'ES256',
    created_at: key.createdAt,
    crv: 'P-256',
    expired_at: key.expiredAt,
    kid: key.kid,
    kty: 'EC',
    use: 'sig',
    x: key.x,
    y: key.y,
  }
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text))
  return Buffer.from(digest).toString('hex')
}

/**
 * The `Plaid-Verification` header for `body`: a JWT whose header is {alg, kid, typ} and whose
 * payload is {iat, request_body_sha256}, signed with ES256 (WebCrypto's ECDSA signature is already
 * the raw r||s JWS wants). `kid` and `alg` can be overridden to forge headers; the signature is
 * always the key's ES256 one.
 */
export async function signWebhook(
  body: string,
  key: SigningKey,
  claims: { iat: number; kid?: string; alg?: string },
): Promise<string> {
  const header = base64Url(
    encoder.encode(JSON.stringify({ alg: claims.alg ?? 'ES256', kid: claims.kid ?? key.kid, typ: 'JWT' })),
  )
  const payload = base64Url(
    encoder.encode(JSON.stringify({ iat: claims.iat, request_body_sha256: await sha256Hex(body) })),
  )
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    encoder.encode(`${header}.${payload}`),
  )
  return `${header}.${payload}.${base64Url(signature)}`
}

// ---- Webhook bodies (the spec's *Webhook schemas) -------------------------------------------

/** Fields every Item webhook starts with; `user_id` only for Items created for a Plaid user. */
function envelope(item: Item, type: string, code: string) {
  return {
    webhook_type: type,
    webhook_code: code,
    item_id: item.id,
    ...(item.userId !== null && { user_id: item.userId }),
  }
}

const ENVIRONMENT = 'sandbox'

/** SyncUpdatesAvailableWebhook: new changes wait at /transactions/sync. */
export const syncUpdatesAvailable = (item: Item) => ({
  ...envelope(item, 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE'),
  initial_update_complete: true,
  historical_update_complete: true,
  environment: ENVIRONMENT,
})

/** DefaultUpdateWebhook (the /transactions/get era webhook). */
export const defaultUpdate = (item: Item, newTransactions: number) => ({
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'DEFAULT_UPDATE',
  item_id: item.id,
  error: null,
  new_transactions: newTransactions,
  environment: ENVIRONMENT,
})

/** AuthDefaultUpdateWebhook: no account numbers changed in the emulator. */
export const authDefaultUpdate = (item: Item) => ({
  webhook_type: 'AUTH',
  webhook_code: 'DEFAULT_UPDATE',
  item_id: item.id,
  account_ids_with_new_auth: [],
  account_ids_with_updated_auth: {},
  error: null,
  environment: ENVIRONMENT,
})

/** RecurringTransactionsUpdateWebhook. */
export const recurringTransactionsUpdate = (item: Item) => ({
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'RECURRING_TRANSACTIONS_UPDATE',
  item_id: item.id,
  // The accounts that carry transactions (a CD has none).
  account_ids: item.accounts
    .filter((a) => a.type === 'credit' || ['checking', 'savings'].includes(a.subtype))
    .map((a) => a.id),
  environment: ENVIRONMENT,
})

/** ItemErrorWebhook: the Item entered `error` (a PlaidError with its HTTP status). */
export const itemErrorWebhook = (item: Item, error: EmulatedPlaidError) => ({
  ...envelope(item, 'ITEM', 'ERROR'),
  error: error.itemError(),
  environment: ENVIRONMENT,
})

/** NewAccountsAvailableWebhook. */
export const newAccountsAvailable = (item: Item) => ({
  ...envelope(item, 'ITEM', 'NEW_ACCOUNTS_AVAILABLE'),
  error: null,
  environment: ENVIRONMENT,
})

/** ItemLoginRepairedWebhook. */
export const loginRepaired = (item: Item) => ({
  ...envelope(item, 'ITEM', 'LOGIN_REPAIRED'),
  environment: ENVIRONMENT,
})

/** PendingExpirationWebhook: consent ends at `expiresAt` (Plaid warns 7 days ahead). */
export const pendingExpiration = (item: Item, expiresAt: number) => ({
  ...envelope(item, 'ITEM', 'PENDING_EXPIRATION'),
  consent_expiration_time: new Date(expiresAt).toISOString(),
  environment: ENVIRONMENT,
})

/** PendingDisconnectWebhook: the bank is migrating; the Item must go through update mode. */
export const pendingDisconnect = (item: Item, disconnectAt: number) => ({
  ...envelope(item, 'ITEM', 'PENDING_DISCONNECT'),
  reason: 'INSTITUTION_MIGRATION',
  disconnect_time: new Date(disconnectAt).toISOString(),
  environment: ENVIRONMENT,
})

/** UserPermissionRevokedWebhook, with the USER_PERMISSION_REVOKED error Plaid attaches. */
export const userPermissionRevoked = (item: Item, error: EmulatedPlaidError) => ({
  ...envelope(item, 'ITEM', 'USER_PERMISSION_REVOKED'),
  error: error.itemError(),
  environment: ENVIRONMENT,
})

/** UserAccountRevokedWebhook: names the one account the user revoked. */
export const userAccountRevoked = (item: Item, accountId: string) => ({
  ...envelope(item, 'ITEM', 'USER_ACCOUNT_REVOKED'),
  account_id: accountId,
  environment: ENVIRONMENT,
})

/** WebhookUpdateAcknowledgedWebhook: sent to the new URL after /item/webhook/update. */
export const webhookUpdateAcknowledged = (item: Item, url: string) => ({
  webhook_type: 'ITEM',
  webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED',
  item_id: item.id,
  error: null,
  new_webhook_url: url,
  environment: ENVIRONMENT,
})

// ---- Delivery -------------------------------------------------------------------------------

/** POSTs a webhook like Plaid's sender; failures are logged, never thrown (Plaid does not care either). */
export const postWebhook: DeliverWebhook = async ({ url, headers, body }) => {
  const response = await fetch(url, { method: 'POST', headers, body })
  if (!response.ok) console.warn(`emulator: webhook to ${url} answered ${response.status}`)
}

/** Signs and sends webhooks for every tenant, to the Item's URL or to the tenant's outbox. */
export class WebhookSender {
  constructor(private readonly options: { deliver?: DeliverWebhook; outbox?: boolean }) {}

  get outbox(): boolean {
    return this.options.outbox === true
  }

  /**
   * Sends `body` to the Item's webhook URL and answers whether it was sent: not without a URL, and
   * not SYNC_UPDATES_AVAILABLE before `/transactions/sync` was first called on the Item (Plaid's
   * rule, so a client that never starts syncing never hears of new transactions). Signing happens
   * before this resolves, so an outbox holds the webhook as soon as the endpoint answers; a real
   * POST starts only after the answer has gone out, as Plaid's do.
   */
  async send(tenant: Tenant, item: Item, body: { webhook_code: string } & Record<string, unknown>): Promise<boolean> {
    const url = item.webhook
    if (url === null) return false
    if (body.webhook_code === 'SYNC_UPDATES_AVAILABLE' && !item.syncCalled) return false
    const text = JSON.stringify(body)
    const now = tenant.now()
    const verification = await signWebhook(text, await tenant.webhookKeys.current(), { iat: seconds(now) })
    item.lastWebhook = { sentAt: now, code: body.webhook_code }
    const delivery = {
      url,
      headers: { 'Content-Type': 'application/json', 'Plaid-Verification': verification },
      body: text,
    }
    if (this.outbox) {
      tenant.webhookOutbox.push(delivery)
      return true
    }
    const deliver = this.options.deliver ?? postWebhook
    setTimeout(() => {
      Promise.resolve()
        .then(() => deliver(delivery))
        .catch((error: unknown) => {
          console.warn(`emulator: webhook to ${url} failed: ${error instanceof Error ? error.message : String(error)}`)
        })
    }, 0)
    return true
  }
}
