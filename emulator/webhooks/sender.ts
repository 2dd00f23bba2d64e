/**
 * Webhook delivery: signed, then POSTed to the Item's URL after the answer (as Plaid does), or kept
 * in the tenant's outbox for tests to collect.
 */
import type { Item, WebhookDelivery } from '../model'
import type { Tenant } from '../state'
import { signWebhook } from './keys'

export type DeliverWebhook = (delivery: WebhookDelivery) => void | Promise<void>

const seconds = (ms: number) => Math.floor(ms / 1000)

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
