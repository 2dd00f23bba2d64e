/**
 * How an endpoint module (./endpoints/*.ts) registers its Plaid paths: a handler gets the request
 * body, without credentials, and what it may act on; ./pipeline.ts runs it behind Plaid's checks.
 */
import type { EmulatedPlaidError } from './plaid-error'
import type { Tenant } from './state'
import type { WebhookSender } from './webhooks/sender'

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
