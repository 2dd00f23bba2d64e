/**
 * The Worker's API through its front door (`worker.fetch`): one function per route, so each path
 * is written here once and each answer carries the type the Worker answers with. `call` stays for
 * tests that send on purpose what no client would (odd paths, methods or bodies).
 */

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import type { Bindings } from '../../src/config'
import worker from '../../src/index'
import type { LinkedItem } from '../../src/services/items'
import type { NewLink } from '../../src/services/link-storage'
import type { SyncResult } from '../../src/services/transactions-sync'
import type { Account, Item } from '../../src/store/items'
import type { Transaction } from '../../src/store/transactions'
import type { WebhookDelivery } from './emulator'
import { runQueue, type TestEnv } from './env'

export const API_ORIGIN = 'https://api.example.com'
const BANKING = '/api/v1/banking'
/** Where Items created in tests send their webhooks: this API's webhook route. */
export const WEBHOOK_URL = `${API_ORIGIN}${BANKING}/webhooks`

export type CallOptions = { token?: string; body?: unknown; headers?: Record<string, string> }
export type CallResult = { status: number; headers: Headers; body: Record<string, unknown>; text: string }

export async function call(
  env: Bindings,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const headers = new Headers(options.headers)
  if (options.token !== undefined) headers.set('Authorization', `Bearer ${options.token}`)
  let body: string | undefined
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json')
  }
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(`${API_ORIGIN}${path}`, { method, headers, body }), env, ctx)
  await waitOnExecutionContext(ctx)
  const text = await response.text()
  let json: Record<string, unknown> = {}
  try {
    json = text ? JSON.parse(text) : {}
  } catch {
    json = {}
  }
  return { status: response.status, headers: response.headers, body: json, text }
}

/**
 * An answer of a route: its success body's fields (absent on an error, which has `detail`), or
 * nothing typed for routes that answer 204.
 */
export type ApiResult<T = object> = Omit<CallResult, 'body'> & { body: Partial<T> & Record<string, unknown> }

/**
 * Query parameters: an object's in the order given (none: no `?`); a string or URLSearchParams is
 * sent as written, after a `?` even when empty.
 */
export type Query = string | URLSearchParams | Record<string, string | number | boolean>
export type ApiOptions = Omit<CallOptions, 'token'> & { query?: Query }

function route<T>(method: string, path: string) {
  return (env: Bindings, token: string | undefined, { query, ...options }: ApiOptions = {}) =>
    call(env, method, `${path}${queryString(query)}`, { ...options, token }) as Promise<ApiResult<T>>
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return ''
  if (typeof query === 'string' || query instanceof URLSearchParams) return `?${query}`
  const params = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))
  return params.size === 0 ? '' : `?${params}`
}

/** A call about the user's Item, as `api` makes it (api.sync, api.refresh, ...). */
export type ItemRoute = (env: Bindings, token: string, itemId: string) => Promise<CallResult>

const itemPath = (itemId: string) => `${BANKING}/items/${itemId}`

/** The API's routes, each `(env, token, ...)`; `token` undefined sends no Authorization header. */
export const api = {
  linkToken: route<{ link_token: string; expiration: string }>('POST', `${BANKING}/link-token`),
  exchangeToken: (env: Bindings, token: string | undefined, body: unknown, options: ApiOptions = {}) =>
    route<NewLink>('POST', `${BANKING}/exchange-token`)(env, token, { ...options, body }),
  items: route<{ items: Item[] }>('GET', `${BANKING}/items`),
  item: (env: Bindings, token: string | undefined, itemId: string, options?: ApiOptions) =>
    route<{ item: Item }>('GET', itemPath(itemId))(env, token, options),
  removeItem: (env: Bindings, token: string | undefined, itemId: string, options?: ApiOptions) =>
    route('DELETE', itemPath(itemId))(env, token, options),
  sync: (env: Bindings, token: string | undefined, itemId: string, options?: ApiOptions) =>
    route<SyncResult>('POST', `${itemPath(itemId)}/sync`)(env, token, options),
  refresh: (env: Bindings, token: string | undefined, itemId: string, options?: ApiOptions) =>
    route<LinkedItem>('POST', `${itemPath(itemId)}/refresh`)(env, token, options),
  accounts: route<{ accounts: Account[]; balances_refresh?: Record<string, unknown>[] }>('GET', `${BANKING}/accounts`),
  transactions: route<{ transactions: Transaction[]; next_cursor: string | null }>('GET', `${BANKING}/transactions`),
  /** Deletes the signed-in user's data. */
  deleteMe: route('DELETE', `${BANKING}/users/me`),
  /** The operator's deletion of a user's data, by the user's id. */
  deleteUser: (env: Bindings, token: string | undefined, userId: string, options?: ApiOptions) =>
    route('DELETE', `/api/v1/operator/users/${encodeURIComponent(userId)}`)(env, token, options),
  /** A webhook as Plaid POSTs it (no bearer token: Plaid signs the body). */
  webhook: (env: Bindings, options: ApiOptions = {}) =>
    route<{ received: true }>('POST', `${BANKING}/webhooks`)(env, undefined, options),
}

/** Delivers a webhook the emulator sent, through the Worker's front door, exactly as sent. */
export function deliver(env: Bindings, delivery: WebhookDelivery): Promise<CallResult> {
  const url = new URL(delivery.url)
  return call(env, 'POST', url.pathname, { headers: delivery.headers, body: delivery.body })
}

/**
 * Delivers a webhook through the front door and then hands what it queued to the Worker's
 * queue() handler, with this test's env throughout.
 */
export async function deliverAndConsume(env: TestEnv, delivery: WebhookDelivery): Promise<void> {
  const res = await deliver(env, delivery)
  if (res.status !== 200) throw new Error(`webhook refused: ${res.status} ${res.text}`)
  await runQueue(env)
}

/** The user's Item as `GET /items/{item_id}` shows it (undefined when it answers an error). */
export async function itemOf(env: Bindings, user: { token: string }, itemId: string): Promise<Item> {
  return (await api.item(env, user.token, itemId)).body.item as Item
}

/** The ids of the user's Items, in the order `GET /items` lists them. */
export async function itemIdsOf(env: Bindings, user: { token: string }): Promise<string[]> {
  return ((await api.items(env, user.token)).body.items as Item[]).map((i) => i.item_id)
}
