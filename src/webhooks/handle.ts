/**
 * Works off verified Plaid webhooks from the queue. Each job is idempotent (a sync, or setting
 * a status), so Plaid's retries and the queue's redeliveries are harmless.
 */
import type { ServiceContext } from '../context'
import { type Bindings, getConfig } from '../env'
import { createLogger } from '../log'
import { PlaidClient } from '../plaid/client'
import { PlaidApiError } from '../plaid/errors'
import { needsUser, statusForError } from '../services/linking'
import { syncItem } from '../services/transactions-sync'
import { findItemForWebhook, type ItemStatus, setItemStatus, setNewAccountsAvailable } from '../store/items'
import type { WebhookJob } from './job'

/** ITEM webhooks that change what the frontend should offer (update mode, or nothing). */
const ITEM_STATUS: Record<string, ItemStatus> = {
  PENDING_EXPIRATION: 'pending_expiration',
  PENDING_DISCONNECT: 'pending_disconnect',
  USER_PERMISSION_REVOKED: 'permission_revoked',
  LOGIN_REPAIRED: 'good',
}

export async function handleWebhookJob(ctx: ServiceContext, job: WebhookJob): Promise<void> {
  const { config, log } = ctx
  const fields = { webhook_type: job.webhook_type, webhook_code: job.webhook_code, item_id: job.item_id }
  const item = job.item_id ? await findItemForWebhook(config.db, job.item_id) : null
  const now = new Date().toISOString()

  if (job.webhook_type === 'TRANSACTIONS' && job.webhook_code === 'SYNC_UPDATES_AVAILABLE') {
    if (!item) return log('info', 'webhook for an unknown item ignored', fields)
    const result = await syncItem(ctx, item)
    return log('info', 'webhook sync done', { ...fields, ...result })
  }
  if (job.webhook_type === 'ITEM') {
    if (job.webhook_code === 'WEBHOOK_UPDATE_ACKNOWLEDGED')
      return log('info', 'webhook URL update acknowledged', fields)
    if (!item) return log('info', 'webhook for an unknown item ignored', fields)
    if (job.webhook_code === 'ERROR') {
      const status = statusForError(job.error_code)
      await setItemStatus(
        config.db,
        item.user_id,
        item.item_id,
        status === 'good' ? item.status : status,
        job.error_code,
        now,
      )
      return log('info', 'item error recorded', { ...fields, error_code: job.error_code })
    }
    if (job.webhook_code === 'NEW_ACCOUNTS_AVAILABLE') {
      await setNewAccountsAvailable(config.db, item.user_id, item.item_id, true, now)
      return log('info', 'new accounts available recorded', fields)
    }
    const status = ITEM_STATUS[job.webhook_code]
    if (status) {
      await setItemStatus(
        config.db,
        item.user_id,
        item.item_id,
        status,
        status === 'good' ? null : job.webhook_code,
        now,
      )
      return log('info', 'item status updated', { ...fields, status })
    }
  }
  log('info', 'webhook acknowledged without action', fields)
}

/**
 * The queue() handler. A job that fails for a reason that may pass (Plaid down, a database
 * error) is retried with backoff; one that needs the user (the Item's login expired: its
 * status already says so) is acknowledged, since retrying cannot fix it.
 */
export async function consumeWebhookBatch(batch: MessageBatch<WebhookJob>, env: Bindings): Promise<void> {
  const queueLog = createLogger({ queue: batch.queue })
  let ctx: ServiceContext
  try {
    const config = getConfig(env)
    ctx = { config, plaid: new PlaidClient(config.plaid), log: queueLog }
  } catch (error) {
    queueLog('error', 'webhook queue cannot run: settings are invalid', { detail: (error as Error).message })
    batch.retryAll({ delaySeconds: 60 })
    return
  }
  for (const message of batch.messages) {
    const log = queueLog.with({ message_id: message.id })
    try {
      await handleWebhookJob({ ...ctx, log }, message.body)
      message.ack()
    } catch (error) {
      const permanent = needsUser(error)
      log(permanent ? 'warn' : 'error', 'webhook job failed', {
        webhook_type: message.body.webhook_type,
        webhook_code: message.body.webhook_code,
        item_id: message.body.item_id,
        attempt: message.attempts,
        error: error instanceof Error ? error.name : 'unknown',
        error_code: error instanceof PlaidApiError ? error.errorCode : undefined,
        will_retry: !permanent,
      })
      if (permanent) message.ack()
      else message.retry({ delaySeconds: Math.min(5 * 2 ** (message.attempts - 1), 300) })
    }
  }
}
