/**
 * The steps every Plaid request goes through before its endpoint answers, as named middlewares
 * (in the order `plaidApi` chains them): record the exchange, read the JSON body, check the
 * credentials and version, let chaos mode answer, pick the client's tenant, inject an armed fault,
 * then run the endpoint. Plaid errors thrown by any step answer as Plaid's error body.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { EMULATOR_SECRET } from '../src/dev-defaults'
import { PLAID_VERSION } from '../src/plaid/version'
import { CHAOS_HEADER, type Chaos, GATEWAY_PAGE, internalServerError, rateLimitError } from './chaos'
import { takeFault } from './faults'
import { newRequestId } from './ids'
import { EmulatedPlaidError, invalidInput, invalidRequest } from './plaid-error'
import type { EndpointContext, EndpointHandler, EndpointHooks, EndpointRegistry } from './registry'
import type { Tenant } from './state'
import type { WebhookSender } from './webhooks/sender'

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

type PlaidEnv = {
  Variables: {
    requestId: string
    /** The body as sent, once it parsed (what an exchange records). */
    requestBody: unknown
    /** A copy of the body without the credentials: what the endpoint reads. */
    body: Record<string, unknown>
    clientId: string
    endpoint: EndpointContext
    /** An armed fault wants the endpoint to run and its answer to lose every documented field. */
    incomplete: boolean
    /** The answer given, for the exchange record; unset for a dropped connection. */
    answer: { body: unknown; injected?: Exchange['injected'] }
  }
}
type PlaidContext = Context<PlaidEnv>

export type PlaidApiOptions = {
  /** The tenant of a client id, created on first use. */
  tenant: (clientId: string) => Tenant
  chaos: Chaos
  webhooks: WebhookSender
  onExchange?: (exchange: Exchange) => void
}

/** Plaid's API: the paths the endpoint modules register, each behind the steps above. */
export function plaidApi(options: PlaidApiOptions, modules: ((api: EndpointRegistry) => void)[]): Hono<PlaidEnv> {
  const app = new Hono<PlaidEnv>()
  const record = recordExchange(options.onExchange)
  const checkCredentials = credentials(options.tenant)
  const chaos = chaosMode(options.chaos)
  const tenant = selectTenant(options.tenant, options.webhooks)
  const registry: EndpointRegistry = {
    post(path, handler, hooks = {}) {
      app.post(
        path,
        record,
        jsonBody,
        checkCredentials,
        chaos,
        tenant,
        injectFaults(hooks.onFault),
        runEndpoint(handler),
      )
    },
  }
  for (const register of modules) register(registry)
  app.onError((error, c) => {
    if (error instanceof EmulatedPlaidError) return plaidAnswer(c, error.status, error.body(c.var.requestId))
    // A bug, not Plaid's behaviour: Hono's default handler answers it with a bare 500.
    throw error
  })
  return app
}

/** Gives the request its request_id, and reports the exchange once answered (not a dropped connection). */
function recordExchange(onExchange?: (exchange: Exchange) => void): MiddlewareHandler<PlaidEnv> {
  return async function recordExchange(c, next) {
    c.set('requestId', newRequestId())
    const headers = redact(Object.fromEntries(c.req.raw.headers))
    await next()
    const answer = c.get('answer')
    if (!onExchange || !answer) return
    const { body: response, injected } = answer
    onExchange({ path: routePath(c), status: c.res.status, headers, request: c.get('requestBody'), response, injected })
  }
}

/** Plaid's bodies are JSON objects; anything else is INVALID_BODY. */
const jsonBody: MiddlewareHandler<PlaidEnv> = async function jsonBody(c, next) {
  const text = await c.req.text()
  try {
    c.set('requestBody', JSON.parse(text))
  } catch {
    throw invalidRequest('INVALID_BODY', 'body could not be parsed as JSON')
  }
  const body = c.get('requestBody')
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('INVALID_BODY', 'body must be a JSON object')
  }
  c.set('body', { ...(body as Record<string, unknown>) })
  await next()
}

/** Plaid takes credentials from headers or the body; both must name a valid pair. */
function credentials(tenant: (clientId: string) => Tenant): MiddlewareHandler<PlaidEnv> {
  return async function credentials(c, next) {
    try {
      c.set('clientId', authenticatedClientId(c.req.raw.headers, c.get('body')))
    } catch (error) {
      // A request with bad keys still reached Plaid: count it under the client id it claimed, so
      // a test can tell "refused by Plaid" from "never sent".
      const claimed = c.req.header('PLAID-CLIENT-ID')
      if (claimed) countCall(tenant(claimed), routePath(c))
      throw error
    }
    await next()
  }
}

/**
 * Chaos answers before anything is touched (not even the tenant or its call counts), so an
 * injected failure leaves the emulator exactly as it was.
 */
function chaosMode(chaos: Chaos): MiddlewareHandler<PlaidEnv> {
  return async function chaosMode(c, next) {
    const path = routePath(c)
    const decision = chaos.decide(path)
    if (decision && decision.delayMs > 0) await sleep(decision.delayMs)
    if (decision?.fault === 'status_503') {
      return rawAnswer(c, 503, GATEWAY_PAGE, { 'Content-Type': 'text/html', [CHAOS_HEADER]: decision.fault })
    }
    if (decision?.fault) {
      const error = decision.fault === 'rate_429' ? rateLimitError(path) : internalServerError()
      c.header(CHAOS_HEADER, decision.fault)
      return plaidAnswer(c, error.status, error.body(c.get('requestId')))
    }
    await next()
  }
}

/** The tenant of the request's client id, which counts the call, and what an endpoint acts on. */
function selectTenant(tenant: (clientId: string) => Tenant, webhooks: WebhookSender): MiddlewareHandler<PlaidEnv> {
  return async function selectTenant(c, next) {
    const clientId = c.get('clientId')
    const t = tenant(clientId)
    countCall(t, routePath(c))
    c.set('endpoint', { tenant: t, requestId: c.get('requestId'), clientId, webhooks })
    await next()
  }
}

/** Answers with the first armed fault of the tenant that matches, in place of (or around) the endpoint. */
function injectFaults(onFault: EndpointHooks['onFault']): MiddlewareHandler<PlaidEnv> {
  return async function injectFaults(c, next) {
    const ctx = c.get('endpoint')
    const fault = takeFault(ctx.tenant.faults, routePath(c), c.get('body'))
    if (fault?.type === 'error') {
      onFault?.(fault.error, c.get('body'), ctx)
      throw fault.error
    }
    if (fault?.type === 'raw') return rawAnswer(c, fault.status, fault.body, { 'Content-Type': fault.contentType })
    if (fault?.type === 'disconnect') return c.body(null, 500, { [DISCONNECT_HEADER]: '1' })
    if (fault?.type === 'delay') await sleep(fault.ms)
    c.set('incomplete', fault?.type === 'incomplete')
    await next()
  }
}

/** The endpoint's answer, with Plaid's request_id. */
function runEndpoint(handler: EndpointHandler) {
  return async function runEndpoint(c: PlaidContext): Promise<Response> {
    const result = await handler(c.get('body'), c.get('endpoint'))
    const request_id = c.get('requestId')
    if (c.get('incomplete')) return plaidAnswer(c, 200, { request_id }, 'incomplete')
    return plaidAnswer(c, 200, { ...result, request_id })
  }
}

function plaidAnswer(
  c: PlaidContext,
  status: number,
  body: Record<string, unknown>,
  injected?: Exchange['injected'],
): Response {
  c.set('answer', { body, injected })
  return c.json(body, status as 200)
}

function rawAnswer(c: PlaidContext, status: number, text: string, headers: Record<string, string>): Response {
  c.set('answer', { body: text, injected: 'raw' })
  return c.body(text, status as 200, headers)
}

function authenticatedClientId(headers: Headers, body: Record<string, unknown>): string {
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
  if (version !== null && version !== PLAID_VERSION) {
    throw invalidRequest('INVALID_HEADERS', 'Plaid-Version header is not a supported API version')
  }
  return clientId
}

function countCall(t: Tenant, path: string): void {
  t.calls.set(path, (t.calls.get(path) ?? 0) + 1)
}

function redact(headers: Record<string, string>): Record<string, string> {
  const copy = { ...headers }
  if ('plaid-secret' in copy) copy['plaid-secret'] = '<redacted>'
  return copy
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
