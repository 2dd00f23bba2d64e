/**
 * A typed Plaid client over plain `fetch`. Hand-written because the official SDK (axios-based)
 * is several times the size of this whole Worker and puts the secret header in its errors;
 * each method maps to one endpoint of Plaid's OpenAPI spec (the version PLAID_VERSION names).
 */
import type { PlaidConfig } from '../config'
import { isTransient, PlaidApiError, PlaidConnectionError, PlaidResponseError, PlaidTimeoutError } from './errors'
import { isObject, nullableNumber, nullableString, str } from './json'
import { parseTransaction } from './transaction'
import type {
  AccountBase,
  AccountsGetResponse,
  ItemGetResponse,
  ItemPublicTokenExchangeResponse,
  LinkTokenCreateRequest,
  LinkTokenCreateResponse,
  PlaidItem,
  PlaidTransaction,
  TransactionsSyncResponse,
  WebhookVerificationKey,
} from './types'

import { PLAID_VERSION } from './version'

export { PLAID_VERSION }

type CallOptions = {
  /** Budget for the whole call, retries included (default: PLAID_TIMEOUT_MS), cut to the request's deadline. */
  timeoutMs?: number
  /** Only for calls that are safe to repeat: reads, and link tokens (a new one is harmless). */
  retry?: boolean
}

const MAX_ATTEMPTS = 3
const BACKOFF_BASE_MS = 100
const BACKOFF_CAP_MS = 1_000
/** No retry is started unless at least this much of the budget is left for it. */
const MIN_ATTEMPT_MS = 250

type Fetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>

export type PlaidClientOptions = {
  /** The request's deadline (epoch ms): no call outlasts it, whatever its own timeout. */
  deadline?: number
  fetch?: Fetch
}

export class PlaidClient {
  private readonly deadline: number
  private readonly fetchImpl: Fetch

  constructor(
    private readonly config: Pick<PlaidConfig, 'baseUrl' | 'clientId' | 'secret' | 'timeoutMs' | 'balanceTimeoutMs'>,
    {
      deadline = Number.POSITIVE_INFINITY,
      fetch: fetchImpl = (input, init) => fetch(input, init),
    }: PlaidClientOptions = {},
  ) {
    this.deadline = deadline
    this.fetchImpl = fetchImpl
  }

  /** `/link/token/create`: a short-lived token that initializes Plaid Link. */
  createLinkToken(body: LinkTokenCreateRequest): Promise<LinkTokenCreateResponse> {
    return this.request(
      '/link/token/create',
      body,
      (data) =>
        typeof data.link_token === 'string' && typeof data.expiration === 'string'
          ? { link_token: data.link_token, expiration: data.expiration, request_id: str(data.request_id) }
          : undefined,
      { retry: true },
    )
  }

  /** `/item/public_token/exchange`: trades Link's one-time public token for the Item's access token. */
  exchangePublicToken(publicToken: string): Promise<ItemPublicTokenExchangeResponse> {
    return this.request('/item/public_token/exchange', { public_token: publicToken }, (data) =>
      typeof data.access_token === 'string' && typeof data.item_id === 'string'
        ? { access_token: data.access_token, item_id: data.item_id }
        : undefined,
    )
  }

  /** `/accounts/get`: the Item's accounts with balances as Plaid last cached them. */
  getAccounts(accessToken: string): Promise<AccountsGetResponse> {
    return this.request('/accounts/get', { access_token: accessToken }, parseAccounts, { retry: true })
  }

  /** `/accounts/balance/get`: live balances from the institution; slow, so it has its own timeout. */
  getBalances(accessToken: string): Promise<AccountsGetResponse> {
    return this.request('/accounts/balance/get', { access_token: accessToken }, parseAccounts, {
      timeoutMs: this.config.balanceTimeoutMs,
    })
  }

  /** `/item/get`: the Item's status, including the error that asks for update mode. */
  getItem(accessToken: string): Promise<ItemGetResponse> {
    return this.request(
      '/item/get',
      { access_token: accessToken },
      (data) => {
        const item = parseItem(data.item)
        return item ? { item } : undefined
      },
      { retry: true },
    )
  }

  /**
   * `/item/webhook/update`: where Plaid sends the Item's webhooks from now on (Plaid confirms with
   * WEBHOOK_UPDATE_ACKNOWLEDGED, sent to the new URL). Not retried here: the hourly cron, its only
   * caller, tries a failed Item again later, and keeps each run to one Plaid call per Item.
   */
  updateItemWebhook(accessToken: string, webhook: string): Promise<{ item: PlaidItem }> {
    return this.request('/item/webhook/update', { access_token: accessToken, webhook }, (data) => {
      const item = parseItem(data.item)
      return item ? { item } : undefined
    })
  }

  /** `/item/remove`: ends the Item at Plaid (and its billing). */
  async removeItem(accessToken: string): Promise<void> {
    await this.request('/item/remove', { access_token: accessToken }, () => ({}))
  }

  /** `/transactions/sync`: one page of changes after `cursor` (none: from the beginning). */
  syncTransactions(accessToken: string, cursor: string | null, count: number): Promise<TransactionsSyncResponse> {
    const body = { access_token: accessToken, count, ...(cursor ? { cursor } : {}) }
    return this.request(
      '/transactions/sync',
      body,
      (data) => {
        if (typeof data.next_cursor !== 'string' || typeof data.has_more !== 'boolean') return undefined
        if (!Array.isArray(data.added) || !Array.isArray(data.modified) || !Array.isArray(data.removed))
          return undefined
        const added = data.added.map(parseTransaction)
        const modified = data.modified.map(parseTransaction)
        const removed = data.removed.map((r) =>
          isObject(r) && typeof r.transaction_id === 'string' ? { transaction_id: r.transaction_id } : undefined,
        )
        if ([...added, ...modified, ...removed].some((t) => t === undefined)) return undefined
        // Each page carries the Item's accounts with their balances as Plaid last saw them.
        const accounts = Array.isArray(data.accounts) ? data.accounts.map(parseAccount) : undefined
        if (!accounts || accounts.some((a) => a === undefined)) return undefined
        return {
          accounts: accounts as AccountBase[],
          added: added as PlaidTransaction[],
          modified: modified as PlaidTransaction[],
          removed: removed as { transaction_id: string }[],
          next_cursor: data.next_cursor,
          has_more: data.has_more,
        }
      },
      { retry: true },
    )
  }

  /** `/webhook_verification_key/get`: the public key (JWK) that signed a webhook. */
  getWebhookVerificationKey(keyId: string): Promise<WebhookVerificationKey> {
    return this.request(
      '/webhook_verification_key/get',
      { key_id: keyId },
      (data) => {
        const key = data.key
        if (!isObject(key)) return undefined
        const { alg, kid, kty, crv, x, y, use, created_at, expired_at } = key
        if ([alg, kid, kty, crv, x, y, use].some((v) => typeof v !== 'string')) return undefined
        if (typeof created_at !== 'number' || (expired_at !== null && typeof expired_at !== 'number')) return undefined
        return { alg, kid, kty, crv, x, y, use, created_at, expired_at } as WebhookVerificationKey
      },
      { retry: true },
    )
  }

  /**
   * The one place that talks HTTP to Plaid: credentials in headers (never in the body, so a
   * logged body cannot leak them), a hard timeout, and every failure mapped to a PlaidError.
   */
  protected async request<T>(
    path: string,
    body: object,
    parse: (data: Record<string, unknown>) => T | undefined,
    { timeoutMs = this.config.timeoutMs, retry = false }: CallOptions = {},
  ): Promise<T> {
    // The timeout bounds the whole call, retries included, and so does the request's deadline.
    const deadline = Math.min(Date.now() + timeoutMs, this.deadline)
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(path, body, parse, Math.max(1, deadline - Date.now()))
      } catch (error) {
        if (!retry || attempt >= MAX_ATTEMPTS || !isTransient(error)) throw error
        // Exponential backoff with full jitter, so many Workers retrying at once spread out.
        const delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt)
        if (Date.now() + delay + MIN_ATTEMPT_MS > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  private async attempt<T>(
    path: string,
    body: object,
    parse: (data: Record<string, unknown>) => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    let response: Response
    let text: string
    try {
      response = await this.fetchImpl(`${this.config.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'PLAID-CLIENT-ID': this.config.clientId,
          'PLAID-SECRET': this.config.secret,
          'Plaid-Version': PLAID_VERSION,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      })
      // The timeout covers the body too: a server that sends headers and then stalls is as
      // stuck as one that never answers.
      text = await response.text()
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new PlaidTimeoutError(timeoutMs)
      }
      throw new PlaidConnectionError()
    }

    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      throw new PlaidResponseError('not JSON', response.status)
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new PlaidResponseError('not a JSON object', response.status)
    }
    const record = data as Record<string, unknown>
    const requestId = str(record.request_id)

    if (!response.ok) {
      if (typeof record.error_code === 'string' && typeof record.error_message === 'string') {
        throw new PlaidApiError(
          response.status,
          str(record.error_type) ?? 'API_ERROR',
          record.error_code,
          record.error_message,
          str(record.display_message) ?? null,
          requestId,
        )
      }
      throw new PlaidResponseError('an error without error_code', response.status, requestId)
    }
    const parsed = parse(record)
    if (parsed === undefined) {
      throw new PlaidResponseError('required fields are missing', response.status, requestId)
    }
    return parsed
  }
}

function parseItem(value: unknown): PlaidItem | undefined {
  if (!isObject(value) || typeof value.item_id !== 'string') return undefined
  const error = isObject(value.error) && typeof value.error.error_code === 'string' ? value.error : null
  return {
    item_id: value.item_id,
    institution_id: nullableString(value.institution_id),
    institution_name: nullableString(value.institution_name),
    webhook: nullableString(value.webhook),
    error: error && { error_code: String(error.error_code), error_type: String(error.error_type) },
  }
}

function parseAccount(value: unknown): AccountBase | undefined {
  if (!isObject(value) || typeof value.account_id !== 'string' || typeof value.name !== 'string') return undefined
  if (typeof value.type !== 'string' || !isObject(value.balances)) return undefined
  const b = value.balances
  return {
    account_id: value.account_id,
    name: value.name,
    official_name: nullableString(value.official_name),
    mask: nullableString(value.mask),
    type: value.type,
    subtype: nullableString(value.subtype),
    balances: {
      available: nullableNumber(b.available),
      current: nullableNumber(b.current),
      limit: nullableNumber(b.limit),
      iso_currency_code: nullableString(b.iso_currency_code),
      unofficial_currency_code: nullableString(b.unofficial_currency_code),
      last_updated_datetime: nullableString(b.last_updated_datetime),
    },
  }
}

function parseAccounts(data: Record<string, unknown>): AccountsGetResponse | undefined {
  const item = parseItem(data.item)
  if (!item || !Array.isArray(data.accounts)) return undefined
  const accounts = data.accounts.map(parseAccount)
  if (accounts.some((a) => a === undefined)) return undefined
  return { item, accounts: accounts as AccountBase[] }
}
