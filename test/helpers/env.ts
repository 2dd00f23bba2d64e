/**
 * A per-test environment for the Worker: each test gets its own Plaid client id, which the
 * emulator treats as a separate Plaid team, so faults and Items never leak between tests running
 * in parallel; and its own queue, whose jobs the test hands to the Worker's queue() handler.
 */

import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import type { Bindings } from '../../src/config'
import worker from '../../src/index'
import type { WebhookJob } from '../../src/queue/jobs'

export type TestEnv = Bindings & { PLAID_CLIENT_ID: string }

/**
 * A WEBHOOK_QUEUE that keeps what the Worker sends, for the test to hand to the Worker's queue()
 * handler with its own env (runQueue). The real queue's consumer runs with the Worker's own
 * bindings, and so with another Plaid client id than the test's.
 */
export class RecordingQueue {
  readonly jobs: WebhookJob[] = []
  async send(job: WebhookJob): Promise<void> {
    this.jobs.push(structuredClone(job))
  }
  async sendBatch(messages: Iterable<{ body: WebhookJob }>): Promise<void> {
    for (const { body } of messages) this.jobs.push(structuredClone(body))
  }
}

export function testEnv(overrides: Partial<Bindings> = {}): TestEnv {
  return {
    ...baseEnv,
    PLAID_CLIENT_ID: `test-client-${crypto.randomUUID()}`,
    WEBHOOK_QUEUE: new RecordingQueue() as unknown as Queue<WebhookJob>,
    ...overrides,
  } as TestEnv
}

/** The jobs the Worker has queued with this env and no test has run yet. */
export function queuedJobs(env: Bindings): WebhookJob[] {
  const queue = env.WEBHOOK_QUEUE as unknown
  if (!(queue instanceof RecordingQueue)) throw new Error('this env uses the real queue, not a RecordingQueue')
  return queue.jobs
}

/**
 * Hands every queued job to the Worker's queue() handler, with this env, until none is left;
 * answers what the consumer did with the jobs (none retried, unless `allowRetries`).
 */
export async function runQueue(
  env: Bindings,
  { allowRetries = false } = {},
): Promise<{ ran: WebhookJob[]; retried: WebhookJob[] }> {
  const jobs = queuedJobs(env)
  const ran: WebhookJob[] = []
  const retried: WebhookJob[] = []
  while (jobs.length > 0) {
    const messages = jobs.splice(0, jobs.length).map((body, i) => ({ id: `job-${ran.length + i}`, body }))
    const batch = createMessageBatch<WebhookJob>(
      'plaid-webhooks',
      messages.map(({ id, body }) => ({ id, timestamp: new Date(), attempts: 1, body })),
    )
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    const result = await getQueueResult(batch, ctx)
    const retriedIds = new Set(result.retryMessages.map((m: { msgId: string }) => m.msgId))
    ran.push(...messages.map((m) => m.body))
    retried.push(...messages.filter((m) => retriedIds.has(m.id)).map((m) => m.body))
  }
  if (retried.length > 0 && !allowRetries) throw new Error('the queue consumer asked for a retry')
  return { ran, retried }
}
