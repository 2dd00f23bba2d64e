import { type Bindings, getConfig } from '../config'
import type { ServiceContext } from '../context'
import { createLogger, type Logger } from '../log'
import { PlaidClient } from '../plaid/client'
import { PlaidApiError } from '../plaid/errors'
import { needsUser } from '../plaid/item-status'
import { finishStalePendingLinks } from '../services/pending-links'
import { describeError, jobFields, recordDeadJob } from './dead-letter'
import { isFinishPendingLinksJob, MAX_RETRIES, type QueueJob, retryDelaySeconds, type WebhookJob } from './jobs'
import { handleWebhookJob } from './webhook-job'

/**
 * The queue() handler for plaid-webhooks. A job that fails for a reason that may pass (Plaid
 * down, a database error) is retried with backoff for about a day (jobs.ts); one that needs the
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
