import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect, vi } from 'vitest'
import worker from '../../src/index'
import type { WebhookJob } from '../../src/queue/jobs'
import { deliver, itemOf } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { itemIdOf, linkItem, linkItemBeforeFirstSync, newUser } from '../helpers/linking'
import { captureLogs, logRecords } from '../helpers/logs'
import { byId, core, listAll } from '../helpers/transactions'
import { waitFor } from '../helpers/wait'

/**
 * The queue's consumer runs with the Worker's own bindings, so tests that go through the real
 * queue use the configured Plaid client id rather than one of their own.
 */
const sharedEnv = (): TestEnv =>
  testEnv({ PLAID_CLIENT_ID: baseEnv.PLAID_CLIENT_ID, WEBHOOK_QUEUE: baseEnv.WEBHOOK_QUEUE })

/** How long the real queue may take to bring a job to the consumer and see it through. */
const QUEUE_WAIT = { timeoutMs: 15_000 }
/** Longer than the waits of a test, so a wait that runs out fails with its own message. */
const QUEUE_TEST_TIMEOUT_MS = 40_000

/**
 * The request ids of the queue jobs whose sync finished, from the consumer's log lines (it runs
 * in this isolate, and each job carries the id of the webhook request that queued it).
 */
function watchSyncsDone(): { done: Set<string>; stop: () => void } {
  const done = new Set<string>()
  const log = console.log
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    const [line] = args
    if (typeof line === 'string' && line.startsWith('{')) {
      const entry = JSON.parse(line) as { message?: string; request_id?: string }
      if (entry.message === 'webhook sync done' && entry.request_id) done.add(entry.request_id)
    }
    log(...args)
  })
  return { done, stop: () => spy.mockRestore() }
}

async function deliverAll(env: TestEnv) {
  const sent = await emulator.webhooks(env)
  for (const delivery of sent) expect((await deliver(env, delivery)).status).toBe(200)
  return sent
}

describe('webhooks drive the sync (through the real queue)', () => {
  it(
    "a signed SYNC_UPDATES_AVAILABLE webhook leads to the user's transactions being listed",
    async () => {
      const env = sharedEnv()
      const user = await newUser()
      const itemId = itemIdOf(await linkItem(env, user))
      await emulator.webhooks(env) // forget what linking sent
      await emulator.changeTransactions(env, itemId, { add: 25, fire_webhook: true })
      const sent = await deliverAll(env)
      expect(sent.map((d) => JSON.parse(d.body).webhook_code)).toContain('SYNC_UPDATES_AVAILABLE')

      const live = await emulator.liveTransactions(env, itemId)
      const listed = await waitFor(
        () => listAll(env, user),
        (l) => l.length === live.length,
        { ...QUEUE_WAIT, what: 'all of the transactions listed' },
      )
      expect(listed.map(core).sort(byId)).toEqual(live.map(core).sort(byId))
    },
    QUEUE_TEST_TIMEOUT_MS,
  )

  it(
    "Plaid's retry of the same webhook is harmless",
    async () => {
      const env = sharedEnv()
      const user = await newUser()
      const itemId = itemIdOf(await linkItem(env, user))
      await emulator.webhooks(env)
      await emulator.changeTransactions(env, itemId, { add: 10, modify: 3, remove: 2, fire_webhook: true })
      const [delivery] = (await emulator.webhooks(env)).filter(
        (d) => JSON.parse(d.body).webhook_code === 'SYNC_UPDATES_AVAILABLE',
      )
      if (!delivery) throw new Error('no webhook was sent')
      // Each delivery under a request id of its own, so the wait below knows when every one of the
      // three jobs has finished its sync.
      const requestIds = [0, 1, 2].map((i) => `retry-${i}-${crypto.randomUUID()}`)
      const syncs = watchSyncsDone()
      try {
        for (const id of requestIds) {
          const res = await deliver(env, { ...delivery, headers: { ...delivery.headers, 'X-Request-Id': id } })
          expect(res.status).toBe(200)
        }
        await waitFor(
          async () => requestIds.filter((id) => syncs.done.has(id)),
          (finished) => finished.length === requestIds.length,
          { ...QUEUE_WAIT, what: 'the sync of every delivery' },
        )
      } finally {
        syncs.stop()
      }

      const live = await emulator.liveTransactions(env, itemId)
      const listed = await listAll(env, user)
      expect(listed.map(core).sort(byId)).toEqual(live.map(core).sort(byId))
      expect(new Set(listed.map((t) => t.transaction_id)).size).toBe(listed.length)
    },
    QUEUE_TEST_TIMEOUT_MS,
  )

  it(
    'ITEM/ERROR ITEM_LOGIN_REQUIRED marks the Item for update mode and LOGIN_REPAIRED clears it',
    async () => {
      const env = sharedEnv()
      const user = await newUser()
      const itemId = itemIdOf(await linkItem(env, user))
      await emulator.webhooks(env)
      await emulator.fireWebhook(env, itemId, 'ERROR')
      await deliverAll(env)
      expect(
        await waitFor(
          async () => (await itemOf(env, user, itemId)).status,
          (s) => s === 'login_required',
          { ...QUEUE_WAIT, what: 'status login_required' },
        ),
      ).toBe('login_required')

      await emulator.fireWebhook(env, itemId, 'LOGIN_REPAIRED')
      await deliverAll(env)
      expect(
        await waitFor(
          async () => (await itemOf(env, user, itemId)).status,
          (s) => s === 'good',
          { ...QUEUE_WAIT, what: 'status good' },
        ),
      ).toBe('good')
    },
    QUEUE_TEST_TIMEOUT_MS,
  )
})

describe('the queue consumer', () => {
  const job = (
    itemId: string | null,
    webhook_type: string,
    webhook_code: string,
    error_code: string | null = null,
  ): WebhookJob => ({
    webhook_type,
    webhook_code,
    item_id: itemId,
    error_code,
    received_at: new Date().toISOString(),
  })

  async function consume(env: TestEnv, jobs: WebhookJob[]) {
    const batch = createMessageBatch<WebhookJob>(
      'plaid-webhooks',
      jobs.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
    )
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    return getQueueResult(batch, ctx)
  }

  it('retries a job when Plaid fails, and the retry then syncs', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    await emulator.fault(env, { endpoint: '/transactions/sync', kind: 'status', status: 503, times: 0 })
    const failed = await consume(env, [job(itemId, 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE')])
    expect(failed.retryMessages).toEqual([expect.objectContaining({ msgId: 'm0' })])
    expect(failed.explicitAcks).toEqual([])
    expect(await listAll(env, user)).toEqual([])
    await emulator.clearFaults(env)

    const retried = await consume(env, [job(itemId, 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE')])
    expect(retried.explicitAcks).toEqual(['m0'])
    expect((await listAll(env, user)).length).toBe((await emulator.liveTransactions(env, itemId)).length)
  })

  it('acknowledges webhooks for unknown Items and unknown types without retrying, and logs each', async () => {
    const env = testEnv()
    const { result, logs } = await captureLogs(() =>
      consume(env, [
        job('no-such-item', 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE'),
        job(null, 'SOMETHING_NEW', 'WHATEVER'),
        job(null, 'ITEM', 'WEBHOOK_UPDATE_ACKNOWLEDGED'),
      ]),
    )
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2'])
    expect(result.retryMessages).toEqual([])
    expect(await emulator.calls(env)).toEqual({})
    const lines = logRecords(logs)
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'webhook for an unknown item ignored',
        message_id: 'm0',
        item_id: 'no-such-item',
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
      }),
    )
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'webhook acknowledged without action',
        message_id: 'm1',
        webhook_type: 'SOMETHING_NEW',
        webhook_code: 'WHATEVER',
      }),
    )
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'webhook URL update acknowledged',
        message_id: 'm2',
        webhook_type: 'ITEM',
        webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED',
      }),
    )
  })

  it.for([
    ['PENDING_EXPIRATION', 'pending_expiration'],
    ['PENDING_DISCONNECT', 'pending_disconnect'],
    ['USER_PERMISSION_REVOKED', 'permission_revoked'],
  ] as const)('ITEM/%s sets the status to %s', async ([code, status], { linked: { env, user, itemId } }) => {
    await consume(env, [job(itemId, 'ITEM', code)])
    expect((await itemOf(env, user, itemId)).status).toBe(status)
  })

  it('acknowledges (does not retry) a sync that needs the user, leaving the Item marked', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.requireLogin(env, itemId)
    const result = await consume(env, [job(itemId, 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE')])
    expect(result.explicitAcks).toEqual(['m0'])
    expect((await itemOf(env, user, itemId)).status).toBe('login_required')
  })
})
