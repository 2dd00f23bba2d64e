/**
 * Webhook jobs the queue gave up on. None disappears silently: each is written to the
 * dead_webhook_jobs table, where an operator finds it (README, "Webhooks and transactions"), and
 * logged as an error. A job arrives here in one of two ways: the webhook consumer records a job
 * whose last retry failed, with the error it failed with; and this Worker also consumes the
 * dead-letter queue plaid-webhooks-dlq, which catches what the consumer could not record (the
 * database was down too, or the whole invocation crashed or ran out of time).
 */
import type { Bindings } from '../config'
import { createLogger, type LogFields } from '../log'
import { PlaidApiError, PlaidResponseError } from '../plaid/errors'
import { isFinishPendingLinksJob, type QueueJob, retryDelaySeconds, type WebhookJob } from './job'

export type DeadJob = {
  messageId: string
  job: WebhookJob
  /** Why it died, when known (describeError). */
  error: string | null
  attempts: number | null
  deadAt: string
}

/** Records the job once per message id: a redelivered message adds nothing. */
export async function recordDeadJob(db: D1Database, dead: DeadJob): Promise<void> {
  const { job } = dead
  await db
    .prepare(
      `INSERT INTO dead_webhook_jobs (message_id, item_id, webhook_type, webhook_code, webhook_error_code, error,
         attempts, request_id, signed_at, received_at, dead_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (message_id) DO NOTHING`,
    )
    .bind(
      dead.messageId,
      job.item_id ?? null,
      job.webhook_type,
      job.webhook_code,
      job.error_code ?? null,
      dead.error,
      dead.attempts,
      job.request_id ?? null,
      job.signed_at ?? null,
      job.received_at ?? null,
      dead.deadAt,
    )
    .run()
}

/**
 * A failure as an operator needs it: the error class with Plaid's error_code or HTTP status.
 * Messages of other errors are kept short; none of this project's errors carry credentials.
 */
export function describeError(error: unknown): string {
  if (error instanceof PlaidApiError) return `${error.name} ${error.errorCode} (HTTP ${error.status})`
  if (error instanceof PlaidResponseError) return `${error.name} (HTTP ${error.status})`
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300)
  return 'unknown error'
}

/** Everything the job holds, so its log lines alone are enough to replay it. */
export function jobFields(job: WebhookJob): LogFields {
  return {
    webhook_type: job.webhook_type,
    webhook_code: job.webhook_code,
    item_id: job.item_id,
    webhook_error_code: job.error_code,
    signed_at: job.signed_at ?? null,
    received_at: job.received_at,
    reason: job.reason,
  }
}

/** Why a job reached the dead-letter queue: the consumer logged each failure, but could not record it. */
const REACHED_DEAD_LETTER_QUEUE = 'retries exhausted; each failure is logged with its request_id and message id'

/** The queue() handler for plaid-webhooks-dlq. Needs only the database, not the Worker's other settings. */
export async function consumeDeadLetterBatch(batch: MessageBatch<QueueJob>, env: Bindings): Promise<void> {
  const queueLog = createLogger({ queue: batch.queue })
  for (const message of batch.messages) {
    const job = message.body
    if (isFinishPendingLinksJob(job)) {
      // Nothing to record: the object that queued it queues it again while its links are pending.
      message.ack()
      continue
    }
    const log = queueLog.with({ message_id: message.id, request_id: job.request_id ?? undefined })
    try {
      if (!env.DB) throw new Error('DB (the D1 binding) is missing')
      await recordDeadJob(env.DB, {
        messageId: message.id,
        job,
        error: REACHED_DEAD_LETTER_QUEUE,
        attempts: null,
        deadAt: new Date().toISOString(),
      })
      log('error', 'webhook job dead: recorded in dead_webhook_jobs', jobFields(job))
      message.ack()
    } catch (error) {
      // The dead-letter queue has no queue after it: until the row is written, the job lives on
      // in this queue, and these lines hold all of it.
      log('error', 'dead webhook job could not be recorded; retrying', {
        ...jobFields(job),
        attempt: message.attempts,
        error: describeError(error),
      })
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) })
    }
  }
}
