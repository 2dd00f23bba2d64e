/**
 * A local Plaid: a Hono app that answers Plaid's API paths with Plaid's shapes, validation and
 * error bodies, keeping state per `client_id` (as Plaid does per team), so parallel tests that
 * use different client ids never see each other's Items or faults. Used by the tests (as the
 * Worker's outbound network) and by `npm run dev` (as a local server).
 */
import { Hono } from 'hono'
import { itemEndpoints } from './endpoints/items'
import { linkEndpoints } from './endpoints/link'
import { type Fault, parseFault, takeFault } from './faults'
import { EmulatedPlaidError, invalidInput, invalidRequest } from './plaid-error'
import { type Item, isLoginRequired, isoSeconds, Tenant } from './state'

export { Tenant } from './state'

/** The secret the emulator accepts for any client id. */
export const EMULATOR_SECRET = 'emulator-secret'
/** Marks an answer the transport must turn into a dropped connection. */
export const DISCONNECT_HEADER = 'x-emulator-disconnect'

export type Exchange = {
  path: string
  status: number
  headers: Record<string, string>
  request: unknown
  response: unknown
  /** Set when the answer is a fault asked for through the control API, not Plaid's behaviour. */
  injected?: 'raw' | 'incomplete'
}

export type EmulatorOptions = {
  /** Called with every Plaid request and answer (the contract check records them). */
  onExchange?: (exchange: Exchange) => void
  /** The clock every tenant uses (public token expiry, timestamps); Date.now by default. */
  now?: () => number
}

export type EndpointContext = { tenant: Tenant; requestId: string; clientId: string }
export type EndpointHandler = (
  body: Record<string, unknown>,
  ctx: EndpointContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>

/** What an endpoint module gets to register its Plaid paths. */
export type EndpointRegistry = {
  post(path: string, handler: EndpointHandler): void
}

export function createEmulator(options: EmulatorOptions = {}) {
  const tenants = new Map<string, Tenant>()
  const tenant = (clientId: string) => {
    let t = tenants.get(clientId)
    if (!t) {
      t = new Tenant(options.now)
      tenants.set(clientId, t)
    }
    return t
  }
  const app = new Hono()

  const registry: EndpointRegistry = {
    post(path, handler) {
      app.post(path, async (c) => {
        const requestId = newRequestId()
        const headers = Object.fromEntries(c.req.raw.headers)
        let requestBody: unknown
        const answer = (status: number, body: Record<string, unknown>, injected?: Exchange['injected']) => {
          options.onExchange?.({
            path,
            status,
            headers: redact(headers),
            request: requestBody,
            response: body,
            injected,
          })
          return c.json(body, status as 200)
        }
        try {
          const text = await c.req.text()
          try {
            requestBody = JSON.parse(text)
          } catch {
            throw invalidRequest('INVALID_BODY', 'body could not be parsed as JSON')
          }
          if (typeof requestBody !== 'object' || requestBody === null || Array.isArray(requestBody)) {
            throw invalidRequest('INVALID_BODY', 'body must be a JSON object')
          }
          const body = { ...(requestBody as Record<string, unknown>) }
          const clientId = credentials(c.req.raw.headers, body)
          const t = tenant(clientId)
          t.calls.set(path, (t.calls.get(path) ?? 0) + 1)

          const fault = takeFault(t.faults, path)
          if (fault?.type === 'error') throw fault.error
          if (fault?.type === 'raw') {
            options.onExchange?.({
              path,
              status: fault.status,
              headers: redact(headers),
              request: requestBody,
              response: fault.body,
              injected: 'raw',
            })
            return c.body(fault.body, fault.status as 200, { 'Content-Type': fault.contentType })
          }
          if (fault?.type === 'disconnect') return c.body(null, 500, { [DISCONNECT_HEADER]: '1' })
          if (fault?.type === 'delay') await new Promise((r) => setTimeout(r, fault.ms))

          const result = await handler(body, { tenant: t, requestId, clientId })
          if (fault?.type === 'incomplete') return answer(200, { request_id: requestId }, 'incomplete')
          return answer(200, { ...result, request_id: requestId })
        } catch (error) {
          if (error instanceof EmulatedPlaidError) return answer(error.status, error.body(requestId))
          throw error
        }
      })
    },
  }

  linkEndpoints(registry)
  itemEndpoints(registry)

  // Control API: not part of Plaid. Scoped to the client id in the PLAID-CLIENT-ID header.
  const control = new Hono()
  control.post('/faults', async (c) => {
    const input = await c.req.json().catch(() => undefined)
    const list = Array.isArray(input) ? input : [input]
    const faults: Fault[] = []
    for (const item of list) {
      const spec = parseFault(item)
      if (typeof spec === 'string') return c.json({ error: spec }, 400)
      faults.push({ ...spec, remaining: spec.times ?? 1 })
    }
    tenant(controlClientId(c.req.raw.headers)).faults.push(...faults)
    return c.json({ faults: faults.length })
  })
  control.delete('/faults', (c) => {
    tenant(controlClientId(c.req.raw.headers)).faults.length = 0
    return c.body(null, 204)
  })
  control.get('/calls', (c) => c.json(Object.fromEntries(tenant(controlClientId(c.req.raw.headers)).calls)))
  // Items: list them, and move them in and out of ITEM_LOGIN_REQUIRED by item_id (tests know
  // item ids from their own API, not necessarily the Plaid access tokens).
  control.get('/items', (c) => {
    const t = tenant(controlClientId(c.req.raw.headers))
    return c.json({ items: [...t.items.values()].map(itemSummary) })
  })
  const itemRoute = (action: string, change: (t: Tenant, item: Item) => void) =>
    control.post(`/items/:item_id/${action}`, (c) => {
      const t = tenant(controlClientId(c.req.raw.headers))
      const item = t.items.get(c.req.param('item_id'))
      if (!item) return c.json({ error: 'no Item with this item_id for this client id' }, 404)
      if (item.removed) return c.json({ error: 'the Item was removed' }, 409)
      change(t, item)
      return c.json(itemSummary(item))
    })
  itemRoute('login-required', (t, item) => t.requireLogin(item))
  itemRoute('repair', (t, item) => t.repair(item))
  app.route('/emulator', control)

  app.notFound((c) =>
    c.json(new EmulatedPlaidError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'not found').body(newRequestId()), 404),
  )
  return { fetch: app.fetch, tenant }
}

/** Plaid takes credentials from headers or the body; both must name a valid pair. */
function credentials(headers: Headers, body: Record<string, unknown>): string {
  const clientId = headers.get('PLAID-CLIENT-ID') ?? body.client_id
  const secret = headers.get('PLAID-SECRET') ?? body.secret
  delete body.client_id
  delete body.secret
  const missing = [!clientId && 'client_id', !secret && 'secret'].filter(Boolean)
  if (missing.length > 0) {
    throw invalidRequest('MISSING_FIELDS', `the following required fields are missing: ${missing.join(', ')}`)
  }
  if (typeof clientId !== 'string' || secret !== EMULATOR_SECRET) {
    throw invalidInput('INVALID_API_KEYS', 'invalid client_id or secret provided')
  }
  const version = headers.get('Plaid-Version')
  if (version !== null && version !== '2020-09-14') {
    throw invalidRequest('INVALID_HEADERS', 'Plaid-Version header is not a supported API version')
  }
  return clientId
}

/** An Item as the control API lists it (not a Plaid shape). */
function itemSummary(item: Item) {
  return {
    item_id: item.id,
    institution_id: item.institution.id,
    access_token: item.accessToken,
    products: item.products,
    webhook: item.webhook,
    created_at: isoSeconds(item.createdAt),
    removed: item.removed,
    login_required: isLoginRequired(item),
    error_code: item.error?.error.errorCode ?? null,
    account_ids: item.accounts.map((a) => a.id),
  }
}

function controlClientId(headers: Headers): string {
  return headers.get('PLAID-CLIENT-ID') ?? 'emulator-client-id'
}

function redact(headers: Record<string, string>): Record<string, string> {
  const copy = { ...headers }
  if ('plaid-secret' in copy) copy['plaid-secret'] = '<redacted>'
  return copy
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15))
  return Array.from(bytes, (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('')
}
