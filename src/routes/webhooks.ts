import { Hono } from 'hono/tiny'
import { serviceContext } from '../context'
import { ApiError } from '../errors'
import { verifyPlaidWebhook } from '../plaid/webhook-verification'
import type { WebhookJob } from '../queue/jobs'
import type { AppEnv } from '../types'
import { decodeUtf8, readBytes, requireJsonContentType, validate } from './input'
import { endpoint } from './operation'
import { MAX_WEBHOOK_BYTES, WebhookBody } from './schemas'

/**
 * Plaid calls this (no user JWT). The webhook is verified, queued and answered at once: Plaid
 * waits 10 s at most, and the queue retries what fails later instead of losing it.
 */
export const webhookRoutes = new Hono<AppEnv>().post(
  '/webhooks',
  endpoint({ operation: 'receive webhook', caller: null }, async (c) => {
    const { config, plaid } = serviceContext(c)
    requireJsonContentType(c)
    const raw = await readBytes(c.req.raw, MAX_WEBHOOK_BYTES)
    const { signedAt } = await verifyPlaidWebhook(
      plaid,
      `${config.plaid.baseUrl}|${config.plaid.clientId}`,
      c.req.header('Plaid-Verification'),
      raw,
    )

    let data: unknown
    try {
      data = JSON.parse(decodeUtf8(raw))
    } catch (error) {
      if (error instanceof ApiError) throw error
      throw new ApiError(400, 'webhook body is not valid JSON')
    }
    const body = validate(WebhookBody, data, 'webhook')
    const job: WebhookJob = {
      webhook_type: body.webhook_type,
      webhook_code: body.webhook_code,
      item_id: body.item_id ?? null,
      ...(body.account_id && { account_id: body.account_id }),
      ...(body.consent_expiration_time && { consent_expiration_time: body.consent_expiration_time }),
      ...(body.disconnect_time && { disconnect_time: body.disconnect_time }),
      error_code: body.error?.error_code ?? null,
      received_at: new Date().toISOString(),
      signed_at: signedAt,
      request_id: c.get('requestId'),
    }
    await config.webhookQueue.send(job)
    return c.json({ received: true })
  }),
)
