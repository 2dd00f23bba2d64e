/**
 * A local Plaid: a Hono app that answers Plaid's API paths with Plaid's shapes, validation and
 * error bodies, keeping state per `client_id` (as Plaid does per team), so parallel tests that
 * use different client ids never see each other's Items or faults. Used by the tests (as the
 * Worker's outbound network) and by `npm run dev` (as a local server). Webhooks are signed per
 * client id and POSTed to the Item's URL, or kept in an outbox for tests (see EmulatorOptions).
 * Chaos mode (./chaos.ts, `/emulator/chaos`) adds random latency, 429s and 5xx for load tests.
 *
 * This module only puts the parts together: Plaid's paths behind the request pipeline
 * (./pipeline.ts), the emulated Link's browser calls (./link-ui/session.ts) and the control API
 * (./control.ts).
 */
import { Hono } from 'hono'
import { Chaos } from './chaos'
import { controlApp } from './control'
import { itemEndpoints } from './endpoints/items'
import { linkEndpoints } from './endpoints/link'
import { transactionEndpoints } from './endpoints/transactions'
import { webhookEndpoints } from './endpoints/webhooks'
import { newRequestId } from './ids'
import { linkSessionRoutes } from './link-ui/session'
import type { WebhookDelivery } from './model'
import { type Exchange, plaidApi } from './pipeline'
import { EmulatedPlaidError } from './plaid-error'
import { Tenant } from './state'
import { WebhookSender } from './webhooks/sender'

export type { Exchange }

export type EmulatorOptions = {
  /** Called with every Plaid request and answer (the contract check records them). */
  onExchange?: (exchange: Exchange) => void
  /** The clock every tenant uses (public token expiry, timestamps); Date.now by default. */
  now?: () => number
  /**
   * Delivers a signed webhook; called after the Plaid answer that caused it. Default: POST it to
   * its URL with fetch (errors are logged and ignored, as a webhook receiver's failures are).
   */
  deliverWebhook?: (delivery: WebhookDelivery) => void | Promise<void>
  /** Keep webhooks in each tenant's outbox (GET /emulator/webhooks) instead of delivering them. */
  webhookOutbox?: boolean
  /** The emulated Link script (./link-ui/link-initialize.js) to serve; the Node server reads it. */
  linkScript?: string
}

export type Emulator = ReturnType<typeof createEmulator>

export function createEmulator(options: EmulatorOptions = {}) {
  const tenants = new Map<string, Tenant>()
  const tenant = (clientId: string) => {
    let found = tenants.get(clientId)
    if (!found) {
      found = new Tenant(options.now)
      tenants.set(clientId, found)
    }
    return found
  }
  const webhooks = new WebhookSender({ deliver: options.deliverWebhook, outbox: options.webhookOutbox })
  // Global, not per tenant: a load test's chaos hits every client id alike.
  const chaos = new Chaos()

  const app = new Hono()
  const plaid = plaidApi({ tenant, chaos, webhooks, onExchange: options.onExchange }, [
    linkEndpoints,
    itemEndpoints,
    transactionEndpoints,
    webhookEndpoints,
  ])
  app.route('/', plaid)
  // The emulated Link, which a web app opens in the browser: the link token names the tenant.
  const findLinkToken = (token: string) => {
    for (const t of tenants.values()) {
      const linkToken = t.linkTokens.get(token)
      if (linkToken) return { tenant: t, linkToken }
    }
    return undefined
  }
  linkSessionRoutes(app, findLinkToken, newRequestId, options.linkScript)
  app.route('/emulator', controlApp({ tenant, chaos, webhooks }))
  app.notFound((c) =>
    c.json(new EmulatedPlaidError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'not found').body(newRequestId()), 404),
  )
  // `tenants` is for emulator/snapshot.ts, which saves and restores them.
  return { fetch: app.fetch, tenant, tenants, chaos }
}
