/**
 * A local Plaid: a Hono app that answers Plaid's API paths with Plaid's shapes, validation and
 * error bodies, keeping state per `client_id` (as Plaid does per team), so parallel tests that
 * use different client ids never see each other's Items or faults. Used by the tests (as the
 * Worker's outbound network) and by `npm run dev` (as a local server). Webhooks are signed per
 * client id and POSTed to the Item's URL, or kept in an outbox for tests (see EmulatorOptions).
 * Chaos mode (./chaos.ts, `/emulator/chaos`) adds random latency, 429s and 5xx for load tests.
 */
import { type Context, Hono } from 'hono'
import { CHAOS_HEADER, Chaos, GATEWAY_PAGE, internalServerError, rateLimitError } from './chaos'
import { itemEndpoints } from './endpoints/items'
import { finishLinkSession, linkEndpoints } from './endpoints/link'
import { renderTransaction, transactionEndpoints } from './endpoints/transactions'
import { CONTROL_WEBHOOK_CODES, itemWebhook, webhookEndpoints } from './endpoints/webhooks'
import { type Fault, parseFault, takeFault } from './faults'
import { newRequestId } from './ids'
import { linkSessionRoutes } from './link-ui/session'
import type { Item } from './model'
import { EmulatedPlaidError, invalidInput, invalidRequest } from './plaid-error'
import { driftBalances, isLoginRequired, isoSeconds, Tenant, transactionLog } from './state'
import { syncUpdatesAvailable } from './webhooks/bodies'
import { jwkPublicKey, signWebhook } from './webhooks/keys'
import { WebhookSender } from './webhooks/sender'

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
  /**
   * Delivers a signed webhook; called after the Plaid answer that caused it. Default: POST it to
   * its URL with fetch (errors are logged and ignored, as a webhook receiver's failures are).
   */
  deliverWebhook?: (delivery: { url: string; headers: Record<string, string>; body: string }) => void | Promise<void>
  /** Keep webhooks in each tenant's outbox (GET /emulator/webhooks) instead of delivering them. */
  webhookOutbox?: boolean
  /** The emulated Link script (./link-ui/link-initialize.js) to serve; the Node server reads it. */
  linkScript?: string
}

export type EndpointContext = { tenant: Tenant; requestId: string; clientId: string; webhooks: WebhookSender }
export type EndpointHandler = (
  body: Record<string, unknown>,
  ctx: EndpointContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>

/** Extra behaviour of one endpoint. */
export type EndpointHooks = {
  /** Runs when an injected Plaid error answers in place of the endpoint (to model its cause). */
  onFault?: (error: EmulatedPlaidError, body: Record<string, unknown>, ctx: EndpointContext) => void
}

/** What an endpoint module gets to register its Plaid paths. */
export type EndpointRegistry = {
  post(path: string, handler: EndpointHandler, hooks?: EndpointHooks): void
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
  const webhooks = new WebhookSender({ deliver: options.deliverWebhook, outbox: options.webhookOutbox })
  // Global, not per tenant: a load test's chaos hits every client id alike.
  const chaos = new Chaos()

  const registry: EndpointRegistry = {
    post(path, handler, hooks = {}) {
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
          let clientId: string
          try {
            clientId = credentials(c.req.raw.headers, body)
          } catch (error) {
            // A request with bad keys still reached Plaid: count it under the client id it
            // claimed, so a test can tell "refused by Plaid" from "never sent".
            const claimed = c.req.header('PLAID-CLIENT-ID')
            if (claimed) countCall(tenant(claimed), path)
            throw error
          }
          // Chaos answers before anything is touched (not even the tenant or its call counts), so
          // an injected failure leaves the emulator exactly as it was.
          const chaotic = chaos.decide(path)
          if (chaotic) {
            if (chaotic.delayMs > 0) await new Promise((r) => setTimeout(r, chaotic.delayMs))
            if (chaotic.fault === 'status_503') {
              options.onExchange?.({
                path,
                status: 503,
                headers: redact(headers),
                request: requestBody,
                response: GATEWAY_PAGE,
                injected: 'raw',
              })
              return c.body(GATEWAY_PAGE, 503, { 'Content-Type': 'text/html', [CHAOS_HEADER]: chaotic.fault })
            }
            if (chaotic.fault !== null) {
              const error = chaotic.fault === 'rate_429' ? rateLimitError(path) : internalServerError()
              c.header(CHAOS_HEADER, chaotic.fault)
              return answer(error.status, error.body(requestId))
            }
          }
          const t = tenant(clientId)
          countCall(t, path)
          const ctx: EndpointContext = { tenant: t, requestId, clientId, webhooks }

          const fault = takeFault(t.faults, path, body)
          if (fault?.type === 'error') {
            hooks.onFault?.(fault.error, body, ctx)
            throw fault.error
          }
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

          const result = await handler(body, ctx)
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
  transactionEndpoints(registry)
  webhookEndpoints(registry)
  // The emulated Link, which a web app opens in the browser: the link token names the tenant.
  const findLinkToken = (token: string) => {
    for (const t of tenants.values()) {
      const linkToken = t.linkTokens.get(token)
      if (linkToken) return { tenant: t, linkToken }
    }
    return undefined
  }
  linkSessionRoutes(app, findLinkToken, newRequestId, options.linkScript)

  // Control API: not part of Plaid. Scoped to the client id in the PLAID-CLIENT-ID header,
  // except chaos, which applies to every client id.
  const control = new Hono()
  control.get('/chaos', (c) => c.json(chaos.snapshot()))
  control.post('/chaos', async (c) => {
    const error = chaos.configure(await jsonObject(c))
    if (error !== undefined) return c.json({ error }, 400)
    return c.json(chaos.snapshot())
  })
  control.delete('/chaos', (c) => {
    chaos.reset()
    return c.body(null, 204)
  })
  control.post('/faults', async (c) => {
    const input = await c.req.json().catch(() => undefined)
    const list = Array.isArray(input) ? input : [input]
    const faults: Fault[] = []
    for (const item of list) {
      const spec = parseFault(item)
      if (typeof spec === 'string') return c.json({ error: spec }, 400)
      faults.push({ ...spec, remaining: spec.times ?? 1, waiting: spec.after ?? 0 })
    }
    tenant(controlClientId(c.req.raw.headers)).faults.push(...faults)
    return c.json({ faults: faults.length })
  })
  control.delete('/faults', (c) => {
    tenant(controlClientId(c.req.raw.headers)).faults.length = 0
    return c.body(null, 204)
  })
  // Link tokens as Plaid's /link/token/get would describe them: which Item an update-mode session
  // repairs, or which products a new one initializes.
  control.get('/link-tokens', (c) => {
    const t = tenant(controlClientId(c.req.raw.headers))
    const tokens = [...t.linkTokens].map(([link_token, token]) => ({
      link_token,
      client_user_id: token.clientUserId,
      webhook: token.webhook,
      redirect_uri: token.redirectUri,
      item_id: token.itemId,
      country_codes: token.countryCodes,
      products: token.products,
      required_if_supported_products: token.requiredIfSupportedProducts,
      optional_products: token.optionalProducts,
      additional_consented_products: token.additionalConsentedProducts,
      account_selection_enabled: token.accountSelection,
      days_requested: token.daysRequested ?? null,
    }))
    return c.json({ link_tokens: tokens })
  })
  // The user finishes Link with this link token at an institution: a new Item and its public token.
  control.post('/link-tokens/:link_token/finish', async (c) => {
    const input = await jsonObject(c)
    if (typeof input?.institution_id !== 'string') return c.json({ error: 'institution_id must be a string' }, 400)
    const t = tenant(controlClientId(c.req.raw.headers))
    const finished = finishLinkSession(t, c.req.param('link_token'), input.institution_id)
    return 'error' in finished ? c.json({ error: finished.error }, finished.status) : c.json(finished)
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
      const { item_id, login_required, error_code } = itemSummary(item)
      return c.json({ item_id, login_required, error_code })
    })
  itemRoute('login-required', (t, item) => t.requireLogin(item))
  itemRoute('repair', (t, item) => t.repair(item))
  // The Item removed at Plaid by other means (the user revoking access through Plaid, say).
  itemRoute('remove', (t, item) => t.remove(item))
  itemRoute('without-institution', (_t, item) => {
    item.institutionKnown = false
  })

  // An Item's transactions: append changes (additions, modifications, removals, and postings that
  // settle pending ones; optionally announced with SYNC_UPDATES_AVAILABLE),
  // read the live set a correct client should hold, and switch "data not ready" on and off.
  control.post('/items/:item_id/transactions', (c) =>
    withItem(c, async (t, item, input) => {
      const counts = { add: 0, modify: 0, remove: 0, post: 0 }
      for (const key of ['add', 'modify', 'remove', 'post'] as const) {
        const value = input[key] ?? 0
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_CHANGES) {
          return c.json({ error: `${key} must be an integer from 0 to ${MAX_CHANGES}` }, 400)
        }
        counts[key] = value
      }
      const fireWebhook = input.fire_webhook ?? false
      if (typeof fireWebhook !== 'boolean') return c.json({ error: 'fire_webhook must be a boolean' }, 400)
      if (fireWebhook && item.webhook === null) return c.json({ error: 'the Item has no webhook URL' }, 409)
      const log = transactionLog(item)
      const pending = [...log.live.values()].filter((tx) => tx.pending).length
      if (counts.post > pending) {
        return c.json({ error: `the Item has only ${pending} pending transactions to post` }, 409)
      }
      if (counts.remove > log.live.size - counts.post + counts.add) {
        const removable = log.live.size - counts.post + counts.add
        return c.json({ error: `the Item has only ${removable} transactions to remove` }, 409)
      }
      log.change(counts, t.now())
      // Plaid refreshes an Item's cached balances when it pulls new activity from the bank, and
      // reports them in /accounts/get and in the /transactions/sync pages of the accounts that have
      // transactions: the money moves in those accounts only.
      if (counts.add + counts.modify + counts.post > 0) driftBalances(item, (a) => log.accountIds.has(a.id))
      const fired = fireWebhook && (await webhooks.send(t, item, syncUpdatesAvailable(item)))
      return c.json({ transactions: log.live.size, events: log.events.length, webhook_fired: fired })
    }),
  )
  control.get('/items/:item_id/transactions', (c) =>
    withItem(c, (_t, item) =>
      c.json({ transactions: [...transactionLog(item).live.values()].map((tx) => renderTransaction(tx, false)) }),
    ),
  )
  control.post('/items/:item_id/transactions-ready', (c) =>
    withItem(c, async (t, item, input) => {
      const { ready, fire_webhook: fireWebhook = false } = input
      if (typeof ready !== 'boolean' || typeof fireWebhook !== 'boolean') {
        return c.json({ error: 'body must be {"ready": boolean, "fire_webhook"?: boolean}' }, 400)
      }
      // Plaid announces finished pulls with SYNC_UPDATES_AVAILABLE; tests opt in to seeing that.
      const becameReady = ready && !item.transactionsReady
      item.transactionsReady = ready
      const fired = becameReady && fireWebhook && (await webhooks.send(t, item, syncUpdatesAvailable(item)))
      return c.json({ item_id: item.id, transactions_ready: item.transactionsReady, webhook_fired: fired })
    }),
  )
  // Any Item webhook the emulator knows, including those /sandbox/item/fire_webhook cannot fire
  // (PENDING_EXPIRATION, WEBHOOK_UPDATE_ACKNOWLEDGED), with the same state changes.
  control.post('/items/:item_id/fire-webhook', (c) =>
    withItem(c, async (t, item, input) => {
      const { webhook_code: code, webhook_type: type } = input
      if (typeof code !== 'string' || !CONTROL_WEBHOOK_CODES.includes(code)) {
        return c.json({ error: `webhook_code must be one of ${CONTROL_WEBHOOK_CODES.join(', ')}` }, 400)
      }
      if (type !== undefined && typeof type !== 'string') return c.json({ error: 'webhook_type must be a string' }, 400)
      if (item.webhook === null) return c.json({ error: 'the Item has no webhook URL' }, 409)
      try {
        const body = itemWebhook(t, item, code, type)
        return c.json({ webhook: body, webhook_fired: await webhooks.send(t, item, body) })
      } catch (error) {
        if (error instanceof EmulatedPlaidError)
          return c.json({ error: error.message, error_code: error.errorCode }, 400)
        throw error
      }
    }),
  )

  // Webhooks: the outbox (tests), signing keys and forged signatures.
  control.get('/webhooks', (c) => {
    if (!webhooks.outbox) return c.json({ error: 'the emulator delivers webhooks to their URLs (no outbox)' }, 409)
    const outbox = tenant(controlClientId(c.req.raw.headers)).webhookOutbox
    return c.json({ webhooks: outbox.splice(0, outbox.length) })
  })
  // The keys, and how often each key_id (known or made up) was asked for at /webhook_verification_key/get.
  control.get('/webhook-keys', (c) => {
    const keys = tenant(controlClientId(c.req.raw.headers)).webhookKeys
    return c.json({ keys: keys.all().map(jwkPublicKey), lookups: Object.fromEntries(keys.lookups) })
  })
  control.post('/webhook-keys/rotate', async (c) => {
    const input = await jsonObject(c)
    const expirePrevious = input?.expire_previous ?? false
    if (typeof expirePrevious !== 'boolean') return c.json({ error: 'expire_previous must be a boolean' }, 400)
    const key = await tenant(controlClientId(c.req.raw.headers)).webhookKeys.rotate(expirePrevious)
    return c.json({ key: jwkPublicKey(key) })
  })
  // Signs any body with this client's key, with header and claims open to forgery (stale iat,
  // another alg in the header, an unknown kid, the previous or expired key).
  control.post('/webhooks/sign', async (c) => {
    const input = await jsonObject(c)
    const t = tenant(controlClientId(c.req.raw.headers))
    if (typeof input?.body !== 'string') return c.json({ error: 'body must be the webhook body as a string' }, 400)
    const { kid, iat = Math.floor(t.now() / 1000), alg, key: which = 'current' } = input
    if (kid !== undefined && typeof kid !== 'string') return c.json({ error: 'kid must be a string' }, 400)
    if (typeof iat !== 'number' || !Number.isInteger(iat)) return c.json({ error: 'iat must be an integer' }, 400)
    if (alg !== undefined && typeof alg !== 'string') return c.json({ error: 'alg must be a string' }, 400)
    if (which !== 'current' && which !== 'previous')
      return c.json({ error: 'key must be "current" or "previous"' }, 400)
    const key = which === 'current' ? await t.webhookKeys.current() : t.webhookKeys.previous()
    if (!key) return c.json({ error: 'there is no previous key; rotate first' }, 409)
    return c.json({ verification: await signWebhook(input.body, key, { iat, kid, alg }) })
  })
  app.route('/emulator', control)

  /** Runs `action` on the Item named in the path, with the request's JSON body (if any). */
  async function withItem(
    c: Context,
    action: (t: Tenant, item: Item, input: Record<string, unknown>) => Response | Promise<Response>,
  ): Promise<Response> {
    const t = tenant(controlClientId(c.req.raw.headers))
    const item = t.items.get(c.req.param('item_id') ?? '')
    if (!item) return c.json({ error: 'no Item with this item_id for this client id' }, 404)
    if (item.removed) return c.json({ error: 'the Item was removed' }, 409)
    const input = c.req.method === 'GET' ? {} : await jsonObject(c)
    if (!input) return c.json({ error: 'body must be a JSON object' }, 400)
    return action(t, item, input)
  }

  app.notFound((c) =>
    c.json(new EmulatedPlaidError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'not found').body(newRequestId()), 404),
  )
  // `tenants` is for emulator/persist.ts, which saves and restores them.
  return { fetch: app.fetch, tenant, tenants, chaos }
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

function countCall(t: Tenant, path: string): void {
  t.calls.set(path, (t.calls.get(path) ?? 0) + 1)
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
    sync_called: item.syncCalled,
    login_required: isLoginRequired(item),
    error_code: item.error?.error.errorCode ?? null,
    account_ids: item.accounts.map((a) => a.id),
  }
}

/** The most changes one control call may append (keeps a typo from allocating forever). */
const MAX_CHANGES = 100_000

/** The request's JSON object body; an empty body counts as {}. */
async function jsonObject(c: Context): Promise<Record<string, unknown> | undefined> {
  const text = await c.req.text()
  if (text.trim() === '') return {}
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
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
