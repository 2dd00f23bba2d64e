/// <reference types="vite/client" />
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { describe, expect } from 'vitest'
import worker from '../../src/index'
import { MAX_RETRIES, type WebhookJob } from '../../src/queue/jobs'
import wranglerToml from '../../wrangler.toml?raw'
import { itemOf } from '../helpers/api'
import { unavailableD1 } from '../helpers/d1'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { captureLogs, logRecords } from '../helpers/logs'

type Logged = Record<string, unknown> & { level: string; message: string }

const logLines = (logs: string) => logRecords(logs) as Logged[]

const syncJob = (itemId: string | null): WebhookJob => ({
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'SYNC_UPDATES_AVAILABLE',
  item_id: itemId,
  error_code: null,
  received_at: new Date().toISOString(),
  signed_at: Math.floor(Date.now() / 1000),
  request_id: `req-${crypto.randomUUID()}`,
})

type Retry = { msgId: string; delaySeconds: number | undefined }

/**
 * Hands the jobs to the Worker's queue() handler as one batch of `queue`. The test pool's result
 * lists retried messages without their delay, so each message's retry() is watched for it.
 */
async function consume(env: TestEnv, queue: string, jobs: { id: string; attempts: number; body: WebhookJob }[]) {
  const batch = createMessageBatch<WebhookJob>(
    queue,
    jobs.map((j) => ({ ...j, timestamp: new Date() })),
  )
  const retries: Retry[] = []
  for (const message of batch.messages) {
    const retry = message.retry.bind(message)
    message.retry = (options?: QueueRetryOptions) => {
      retries.push({ msgId: message.id, delaySeconds: options?.delaySeconds })
      retry(options)
    }
  }
  const ctx = createExecutionContext()
  const { logs } = await captureLogs(() => worker.queue(batch, env, ctx))
  const result = await getQueueResult(batch, ctx)
  expect(result.retryMessages.map((r: { msgId: string }) => r.msgId)).toEqual(retries.map((r) => r.msgId))
  return { result: { explicitAcks: result.explicitAcks as string[], retryMessages: retries }, logs: logLines(logs) }
}

const deadRows = async (env: TestEnv, messageId: string) =>
  (
    await (env.DB as D1Database)
      .prepare('SELECT * FROM dead_webhook_jobs WHERE message_id = ?')
      .bind(messageId)
      .all<Record<string, unknown>>()
  ).results

const unavailableDb = unavailableD1()

describe('webhook jobs that keep failing', () => {
  it('are retried with backoff from 30 s up to an hour, about a day in all, within Cloudflare limits', async () => {
    const env = testEnv({ DB: unavailableDb })
    const attempts = Array.from({ length: MAX_RETRIES }, (_, i) => i + 1)
    const { result } = await consume(
      env,
      'plaid-webhooks',
      attempts.map((n) => ({ id: `try-${n}`, attempts: n, body: syncJob('some-item') })),
    )
    expect(result.explicitAcks).toEqual([])
    const delays = attempts.map((n) => result.retryMessages.find((r) => r.msgId === `try-${n}`)?.delaySeconds)
    expect(delays.slice(0, 8)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600])
    expect(Math.max(...(delays as number[]))).toBe(3600) // Cloudflare's limit per retry is 12 hours
    const total = (delays as number[]).reduce((sum, d) => sum + d, 0)
    expect(total).toBeGreaterThan(20 * 3600)
    expect(total).toBeLessThan(2 * 24 * 3600) // well inside the 4 days a queue keeps a message
  })

  it('match max_retries in every environment of wrangler.toml, each with its dead-letter queue consumed', () => {
    const consumers = [
      ...wranglerToml.matchAll(/^\[\[((?:env\.\w+\.)?queues\.consumers)\]\]\s*\n((?:[a-z_]+ = .*\n?)+)/gm),
    ].map(([, block, body]) => ({
      block,
      settings: Object.fromEntries(
        (body as string)
          .trim()
          .split('\n')
          .map((l) => l.split(' = ')),
      ),
    }))
    const consumer = (block: string, queue: string) => ({
      block,
      settings: expect.objectContaining({ queue: `"${queue}"` }),
    })
    expect(consumers).toEqual([
      consumer('queues.consumers', 'plaid-webhooks'),
      consumer('queues.consumers', 'plaid-webhooks-dlq'),
      consumer('env.production.queues.consumers', 'plaid-webhooks'),
      consumer('env.production.queues.consumers', 'plaid-webhooks-dlq'),
      consumer('env.sandbox.queues.consumers', 'plaid-webhooks-sandbox'),
      consumer('env.sandbox.queues.consumers', 'plaid-webhooks-sandbox-dlq'),
    ])
    for (const { settings } of consumers.filter((c) => !c.settings.queue.endsWith('-dlq"'))) {
      expect(settings).toMatchObject({
        max_retries: String(MAX_RETRIES),
        dead_letter_queue: settings.queue.replace(/"$/, '-dlq"'),
      })
    }
    for (const { settings } of consumers) expect(Number(settings.max_retries)).toBeLessThanOrEqual(100)
  })

  it('are recorded with their last error, logged and acknowledged when their last retry fails', async ({
    linked: { env, itemId },
  }) => {
    await emulator.fault(env, { endpoint: '/transactions/sync', kind: 'status', status: 503, times: 0 })
    const job = syncJob(itemId)
    const id = `dead-${crypto.randomUUID()}`
    const before = `alive-${crypto.randomUUID()}`
    const { result, logs } = await consume(env, 'plaid-webhooks', [
      { id: before, attempts: MAX_RETRIES, body: job },
      { id, attempts: MAX_RETRIES + 1, body: job },
    ])
    expect(result.retryMessages).toEqual([{ msgId: before, delaySeconds: 3600 }])
    expect(result.explicitAcks).toEqual([id])
    expect(await deadRows(env, before)).toEqual([])
    expect(await deadRows(env, id)).toEqual([
      expect.objectContaining({
        item_id: itemId,
        webhook_type: 'TRANSACTIONS',
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
        error: expect.stringMatching(/HTTP 503/),
        attempts: MAX_RETRIES + 1,
        request_id: job.request_id,
        dead_at: expect.any(String),
      }),
    ])
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: expect.stringMatching(/dead/),
        message_id: id,
        request_id: job.request_id,
        item_id: itemId,
      }),
    )
  })

  it('go on to the dead-letter queue when even recording them fails', async () => {
    const env = testEnv({ DB: unavailableDb })
    const id = `dead-${crypto.randomUUID()}`
    const { result, logs } = await consume(env, 'plaid-webhooks', [
      { id, attempts: MAX_RETRIES + 1, body: syncJob('some-item') },
    ])
    // A retry past max_retries is what moves a message to the dead-letter queue.
    expect(result.retryMessages).toEqual([expect.objectContaining({ msgId: id })])
    expect(result.explicitAcks).toEqual([])
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'error', message: expect.stringMatching(/dead-letter queue/), message_id: id }),
    )
  })
})

describe('the dead-letter queue consumer', () => {
  it('records each dead job once in D1, logs it as an error and acknowledges it', async () => {
    const env = testEnv()
    const job: WebhookJob = {
      ...syncJob(null),
      webhook_type: 'ITEM',
      webhook_code: 'ERROR',
      item_id: `item-${crypto.randomUUID()}`,
      error_code: 'ITEM_LOGIN_REQUIRED',
    }
    const id = `dlq-${crypto.randomUUID()}`
    const first = await consume(env, 'plaid-webhooks-dlq', [{ id, attempts: 1, body: job }])
    expect(first.result.explicitAcks).toEqual([id])
    expect(first.result.retryMessages).toEqual([])
    const expected = {
      message_id: id,
      item_id: job.item_id,
      webhook_type: 'ITEM',
      webhook_code: 'ERROR',
      webhook_error_code: 'ITEM_LOGIN_REQUIRED',
      error: expect.stringMatching(/retries exhausted/),
      request_id: job.request_id,
      signed_at: job.signed_at,
      received_at: job.received_at,
      dead_at: expect.any(String),
    }
    expect(await deadRows(env, id)).toEqual([expect.objectContaining(expected)])
    expect(first.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        queue: 'plaid-webhooks-dlq',
        message_id: id,
        request_id: job.request_id,
        item_id: job.item_id,
        webhook_code: 'ERROR',
      }),
    )
    // Nothing from the dead-letter queue is worked off as a webhook.
    expect(await emulator.calls(env)).toEqual({})

    const again = await consume(env, 'plaid-webhooks-dlq', [{ id, attempts: 2, body: job }])
    expect(again.result.explicitAcks).toEqual([id])
    expect(await deadRows(env, id)).toEqual([expect.objectContaining(expected)])
  })

  it('keeps a job it cannot record, with backoff, and logs all of it meanwhile', async () => {
    const env = testEnv({ DB: unavailableDb })
    const job = syncJob(`item-${crypto.randomUUID()}`)
    const id = `dlq-${crypto.randomUUID()}`
    const { result, logs } = await consume(env, 'plaid-webhooks-dlq', [{ id, attempts: 3, body: job }])
    expect(result.explicitAcks).toEqual([])
    expect(result.retryMessages).toEqual([{ msgId: id, delaySeconds: 120 }])
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message_id: id,
        request_id: job.request_id,
        item_id: job.item_id,
        webhook_type: job.webhook_type,
        webhook_code: job.webhook_code,
        received_at: job.received_at,
        error: expect.stringMatching(/D1_ERROR: simulated statement failure/),
      }),
    )
  })
})

describe('Plaid errors no retry can fix', () => {
  it.for(['ITEM_NOT_FOUND', 'INVALID_ACCESS_TOKEN'])(
    '%s from a webhook sync is recorded on the Item, logged and acknowledged without retrying',
    async (code, { linked: { env, user, itemId } }) => {
      await emulator.fault(env, {
        endpoint: '/transactions/sync',
        kind: 'plaid_error',
        status: 400,
        error_type: code === 'ITEM_NOT_FOUND' ? 'ITEM_ERROR' : 'INVALID_INPUT',
        error_code: code,
        times: 0,
      })
      const id = `gone-${crypto.randomUUID()}`
      const { result, logs } = await consume(env, 'plaid-webhooks', [{ id, attempts: 1, body: syncJob(itemId) }])
      expect(result.explicitAcks).toEqual([id])
      expect(result.retryMessages).toEqual([])
      // An Item Plaid does not know is dead (remove it, link again); a token Plaid refuses only records its code.
      expect(await itemOf(env, user, itemId)).toMatchObject({
        status: code === 'ITEM_NOT_FOUND' ? 'disconnected' : 'good',
        error_code: code,
      })
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'error', item_id: itemId, error_code: code, message_id: id }),
      )
      expect(await deadRows(env, id)).toEqual([])
    },
  )
})
