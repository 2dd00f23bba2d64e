/**
 * Works off verified Plaid webhooks from the queue. Each job is idempotent (a sync, or setting
 * a status), so Plaid's retries and the queue's redeliveries are harmless; status webhooks are
 * applied in the order Plaid signed them, not the order they arrive in.
 */

import { type Bindings, getConfig } from '../config'
import type { ServiceContext } from '../context'
import { createLogger, type LogFields, type Logger } from '../log'
import { PlaidClient } from '../plaid/client'
import { isItemGone, PlaidApiError } from '../plaid/errors'
import { needsUser, statusForError } from '../services/item-status'
import { finishStalePendingLinks } from '../services/pending-links'
import { syncItem } from '../services/transactions-sync'
import { findItemOwner } from '../store/item-index'
import type { ItemStatus } from '../store/items'
import { awaitsMove } from '../store/legacy-import'
import { userStore } from '../store/users'
import { describeError, jobFields, recordDeadJob } from './dead-letter'
import { isFinishPendingLinksJob, MAX_RETRIES, type QueueJob, retryDelaySeconds, type WebhookJob } from './job'

/** ITEM webhooks that change what the frontend should offer (update mode, or nothing). */
const ITEM_STATUS: Record<string, ItemStatus> = {
  PENDING_EXPIRATION: 'pending_expiration',
  PENDING_DISCONNECT: 'pending_disconnect',
  USER_PERMISSION_REVOKED: 'permission_revoked',
  LOGIN_REPAIRED: 'good',
}

export async function handleWebhookJob(ctx: ServiceContext, job: WebhookJob): Promise<void> {
  const { config, log } = ctx
  const fields = {
    webhook_type: job.webhook_type,
    webhook_code: job.webhook_code,
    item_id: job.item_id,
    // A sync the API queued itself says why (linked, repaired, fallback); absent for Plaid's webhooks.
    reason: job.reason,
  }
  // The D1 index says whose the Item is, and only then is that user's object asked: a webhook for
  // an unknown Item creates no object.
  const owner = job.item_id ? await findItemOwner(config.db, job.item_id) : null
  // A user whose rows are still in the old D1 tables has perhaps no object yet; this job must not
  // create one far from them. Nothing is lost: their first request moves the rows in, the next
  // sync continues from the moved cursor, and a refresh reads the Item's status from Plaid.
  if (owner && (await awaitsMove(config.db, owner))) {
    return log('info', "webhook left for the user's return: their rows are not in their object yet", fields)
  }
  const store = owner ? userStore(config, owner) : null
  const item = job.item_id && owner && store ? await store.getItem(owner, job.item_id) : null
  const now = new Date().toISOString()
  const signedAt = job.signed_at ?? null

  if (job.webhook_type === 'TRANSACTIONS' && job.webhook_code === 'SYNC_UPDATES_AVAILABLE') {
    if (!item) return log('info', 'webhook for an unknown item ignored', fields)
    try {
      const result = await syncItem(ctx, item)
      return log('info', 'webhook sync done', { ...fields, ...result })
    } catch (error) {
      if (!isItemGone(error)) throw error
      // ITEM_NOT_FOUND has made the Item disconnected (recordItemError); the error code is kept
      // for INVALID_ACCESS_TOKEN too, for the app and the operator. No retry can help.
      await store?.setItemStatusFromWebhook(
        item.user_id,
        item.item_id,
        { status: null, errorCode: error.errorCode, signedAt: null },
        now,
      )
      return log('error', 'Plaid no longer knows this item: sync given up, error recorded on the item', {
        ...fields,
        error_code: error.errorCode,
      })
    }
  }
  if (job.webhook_type === 'ITEM') {
    if (job.webhook_code === 'WEBHOOK_UPDATE_ACKNOWLEDGED')
      return log('info', 'webhook URL update acknowledged', fields)
    if (!item) return log('info', 'webhook for an unknown item ignored', fields)
    if (job.webhook_code === 'ERROR') {
      const status = statusForError(job.error_code)
      const applied = await store?.setItemStatusFromWebhook(
        item.user_id,
        item.item_id,
        // An error the user cannot fix leaves the status as it is.
        { status: status === 'good' ? null : status, errorCode: job.error_code, signedAt },
        now,
      )
      if (!applied) return logStale(log, fields, signedAt)
      return log('info', 'item error recorded', { ...fields, error_code: job.error_code })
    }
    if (job.webhook_code === 'USER_ACCOUNT_REVOKED') {
      // Plaid: delete the Plaid-derived data of the revoked account. Update mode can share it again.
      if (!job.account_id) return log('warn', 'account revocation without an account_id ignored', fields)
      await store?.deleteAccount(item.user_id, item.item_id, job.account_id)
      return log('info', 'revoked account deleted with its transactions', fields)
    }
    if (job.webhook_code === 'NEW_ACCOUNTS_AVAILABLE') {
      await store?.setNewAccountsAvailable(item.user_id, item.item_id, true, now)
      return log('info', 'new accounts available recorded', fields)
    }
    const status = ITEM_STATUS[job.webhook_code]
    if (status) {
      const applied = await store?.setItemStatusFromWebhook(
        item.user_id,
        item.item_id,
        {
          status,
          errorCode: status === 'good' ? null : job.webhook_code,
          signedAt,
          deadline: { consentExpirationTime: job.consent_expiration_time, disconnectTime: job.disconnect_time },
        },
        now,
      )
      if (!applied) return logStale(log, fields, signedAt)
      return log('info', 'item status updated', { ...fields, status })
    }
  }
  log('info', 'webhook acknowledged without action', fields)
}

function logStale(log: Logger, fields: LogFields, signedAt: number | null) {
  log('info', 'status webhook ignored: a webhook signed later already set the status', {
    ...fields,
    signed_at: signedAt,
  })
}

/**
 * The queue() handler for plaid-webhooks. A job that fails for a reason that may pass (Plaid
 * down, a database error) is retried with backoff for about a day (job.ts); one that needs the
 * user (the Item's login expired: its status already says so) is acknowledged, since retrying
 * cannot fix it. A job whose last retry fails is recorded in dead_webhook_jobs with its error.
 */
export async function consumeWebhookBatch(batch: MessageBatch<QueueJob>, env: Bindings): Promise<void> {
  const queueLog = createLogger({ queue: batch.queue })
  let ctx: ServiceContext | undefined
  let setupError: unknown
  try {
    const config = getConfig(env)
    ctx = { config, plaid: new PlaidClient(config.plaid), log: queueLog }
  } catch (error) {
    setupError = error
    queueLog('error', 'webhook queue cannot run: settings are invalid', { detail: (error as Error).message })
  }
  for (const message of batch.messages) {
    const job = message.body
    const log = queueLog.with({ message_id: message.id, request_id: job.request_id ?? undefined })
    if (isFinishPendingLinksJob(job)) {
      // Never retried from here: the object that queued it queues it again while links are pending.
      await (ctx ? finishStalePendingLinks({ ...ctx, log }, job.object_id) : Promise.reject(setupError)).catch(
        (error: unknown) =>
          log('error', 'pending links not finished; their object queues them again', {
            error: error instanceof Error ? error.name : 'unknown',
          }),
      )
      message.ack()
      continue
    }
    try {
      if (!ctx) throw setupError
      await handleWebhookJob({ ...ctx, log }, job)
      message.ack()
    } catch (error) {
      await settleFailure(message as Message<WebhookJob>, error, env, log)
    }
  }
}

async function settleFailure(message: Message<WebhookJob>, error: unknown, env: Bindings, log: Logger) {
  const fields = {
    ...jobFields(message.body),
    attempt: message.attempts,
    error: error instanceof Error ? error.name : 'unknown',
    error_code: error instanceof PlaidApiError ? error.errorCode : undefined,
  }
  if (needsUser(error)) {
    log('warn', 'webhook job failed', { ...fields, will_retry: false })
    return message.ack()
  }
  if (message.attempts <= MAX_RETRIES) {
    const delaySeconds = retryDelaySeconds(message.attempts)
    log('error', 'webhook job failed', { ...fields, will_retry: true, retry_in_seconds: delaySeconds })
    return message.retry({ delaySeconds })
  }
  try {
    if (!env.DB) throw new Error('DB (the D1 binding) is missing')
    await recordDeadJob(env.DB, {
      messageId: message.id,
      job: message.body,
      error: describeError(error),
      attempts: message.attempts,
      deadAt: new Date().toISOString(),
    })
    log('error', 'webhook job dead: retries exhausted; recorded in dead_webhook_jobs', { ...fields, will_retry: false })
    message.ack()
  } catch (recordError) {
    // Retrying past max_retries hands the job to plaid-webhooks-dlq, whose consumer records it.
    log('error', 'webhook job dead and not recorded; handing it to the dead-letter queue', {
      ...fields,
      record_error: describeError(recordError),
    })
    message.retry()
  }
}
