import { env as baseEnv } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { FALLBACK_SYNCS_PER_RUN } from '../../src/services/fallback-sync'
import { recordSynced } from '../../src/store/item-upkeep'
import { deliverAndConsume, WEBHOOK_URL } from '../helpers/api'
import { forgetIndexedItems, HOUR_MS, hoursFromNow, runCron } from '../helpers/cron'
import { failingD1 } from '../helpers/d1'
import { emulator, type WebhookDelivery } from '../helpers/emulator'
import { queuedJobs, runQueue, type TestEnv, testEnv } from '../helpers/env'
import { userOnlyInD1 } from '../helpers/legacy-user'
import { itemIdOf, linkItem, linkItemBeforeFirstSync, linkManyBeforeFirstSync, newUser } from '../helpers/linking'
import { captureLogs, logRecords } from '../helpers/logs'
import { listAll } from '../helpers/transactions'
import { watchedUserStore } from '../helpers/user-store'

const db = () => baseEnv.DB as D1Database

/** The Items the cron queued a sync for (and forgets them, as a consumer would have taken them). */
function takeQueuedSyncs(env: TestEnv): string[] {
  const jobs = queuedJobs(env).splice(0)
  for (const job of jobs) {
    expect(job).toMatchObject({
      webhook_type: 'TRANSACTIONS',
      webhook_code: 'SYNC_UPDATES_AVAILABLE',
      reason: 'fallback',
    })
  }
  return jobs.map((job) => job.item_id as string).sort()
}

beforeEach(forgetIndexedItems)

describe('the hourly cron queues a sync for Items not synced for a day', () => {
  it('queues one for an Item whose last sync finished over a day ago, not for one synced since, and the sync brings in what the lost webhook announced', async () => {
    const env = testEnv()
    const user = await newUser()
    const quiet = itemIdOf(await linkItem(env, user, 'ins_109508'))
    const recent = itemIdOf(await linkItem(env, user, 'ins_109509'))
    // Both as a sync that finished 25 hours ago leaves them in the index. Since then, new
    // transactions at both banks: the webhook of one arrives (and its sync finishes now), the
    // other's is lost.
    for (const itemId of [quiet, recent]) await recordSynced(db(), itemId, new Date(Date.now() - 25 * HOUR_MS))
    await emulator.changeTransactions(env, quiet, { add: 3 })
    await emulator.changeTransactions(env, recent, { add: 2, fire_webhook: true })
    await deliverAndConsume(env, (await emulator.webhooks(env))[0] as WebhookDelivery)

    await runCron(env)
    expect(queuedJobs(env).map((job) => job.item_id)).toEqual([quiet])
    const { logs } = await captureLogs(() => runQueue(env))
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({ message: 'webhook sync done', item_id: quiet, reason: 'fallback', added: 3 }),
    )
    const stored = (await listAll(env, user)).filter((t) => t.item_id === quiet)
    expect(stored).toHaveLength((await emulator.liveTransactions(env, quiet)).length)

    // Both synced within the day now: nothing until a day after their last syncs.
    await runCron(env, hoursFromNow(23))
    expect(takeQueuedSyncs(env)).toEqual([])
    await runCron(env, hoursFromNow(25))
    expect(takeQueuedSyncs(env)).toEqual([quiet, recent].sort())
  })

  it('queues the first sync of an Item whose queued one was lost, a day after it was linked', async () => {
    const env = testEnv()
    const user = await newUser()
    // Linked, and the queue message of its first sync dropped.
    const itemId = await linkItemBeforeFirstSync(env, user)

    await runCron(env, hoursFromNow(23))
    expect(takeQueuedSyncs(env)).toEqual([])
    await runCron(env, hoursFromNow(25))
    expect(queuedJobs(env).map((job) => job.item_id)).toEqual([itemId])
    await runQueue(env)
    expect((await listAll(env, user)).length).toBe((await emulator.liveTransactions(env, itemId)).length)
  })

  it('queues a sync once, not again every hour while it waits or fails', async () => {
    const env = testEnv()
    const itemId = await linkItemBeforeFirstSync(env, await newUser())
    await runCron(env, hoursFromNow(25))
    expect(takeQueuedSyncs(env)).toEqual([itemId])
    await runCron(env, hoursFromNow(26))
    await runCron(env, hoursFromNow(48))
    expect(takeQueuedSyncs(env)).toEqual([])
    await runCron(env, hoursFromNow(50))
    expect(takeQueuedSyncs(env)).toEqual([itemId])
  })

  it(`queues at most ${FALLBACK_SYNCS_PER_RUN} a run, and the rest at the next run`, async () => {
    const env = testEnv()
    const items = await linkManyBeforeFirstSync(env, FALLBACK_SYNCS_PER_RUN + 1)

    const { logs } = await captureLogs(() => runCron(env, hoursFromNow(25)))
    const first = takeQueuedSyncs(env)
    expect(first).toHaveLength(FALLBACK_SYNCS_PER_RUN)
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({
        message: 'syncs queued for items not synced for a day',
        queued: FALLBACK_SYNCS_PER_RUN,
        more_left: true,
      }),
    )
    await runCron(env, hoursFromNow(26))
    const second = takeQueuedSyncs(env)
    expect([...first, ...second].sort()).toEqual([...items].sort())
    // Linking a hundred Items takes seconds on a busy machine.
  }, 60_000)

  it('steps around a user whose check fails, queues the others, and queues that user’s Item at the next run', async () => {
    const healthyEnv = testEnv()
    const [poisonedUser, other] = [await newUser(), await newUser()]
    const poisoned = await linkItemBeforeFirstSync(healthyEnv, poisonedUser)
    const healthy = await linkItemBeforeFirstSync(healthyEnv, other)
    // D1 fails every statement about the poisoned user (here, whether their rows still await the move).
    const env = {
      ...healthyEnv,
      DB: failingD1({ bound: (sql, params) => sql.includes('storage_moves') && params.includes(poisonedUser.id) }),
    }

    const { logs } = await captureLogs(() => runCron(env, hoursFromNow(25)))
    expect(takeQueuedSyncs(env)).toEqual([healthy])
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'fallback sync not queued; tried again next run',
        item_id: poisoned,
      }),
    )
    await runCron(healthyEnv, hoursFromNow(26))
    expect(takeQueuedSyncs(env)).toEqual([poisoned])
  })
})

describe('the hourly cron’s steps', () => {
  it('leave a user who has not come back to their return: no object is created, no call or sync is made for their Item, and the others go on', async () => {
    const store = watchedUserStore()
    const env = testEnv({ USER_STORE: store.namespace, PLAID_WEBHOOK_URL: 'https://new-host.example.com/webhooks' })
    const { user, itemId } = await userOnlyInD1(env)
    const other = await linkItemBeforeFirstSync(env, await newUser())
    store.named.length = 0

    await runCron(env, hoursFromNow(25))
    expect(store.named).not.toContain(user.id)
    expect(takeQueuedSyncs(env)).toEqual([other])
    expect((await emulator.items(env)).map((item) => [item.item_id, item.webhook])).toContainEqual([
      itemId,
      WEBHOOK_URL,
    ])
    expect((await emulator.calls(env))['/item/webhook/update']).toBe(1)
  })

  it('run on their own: one that fails is logged, and the next still runs', async () => {
    const healthyEnv = testEnv({ PLAID_WEBHOOK_URL: 'https://new-host.example.com/webhooks' })
    const itemId = await linkItemBeforeFirstSync(healthyEnv, await newUser())
    // The webhook step cannot even list its Items.
    const env = { ...healthyEnv, DB: failingD1({ statement: (sql) => sql.includes('webhook_url IS NOT') }) }

    const { logs } = await captureLogs(() => runCron(env, hoursFromNow(25)))
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'cron step failed; the next run tries again',
        step: 'move webhooks to PLAID_WEBHOOK_URL',
      }),
    )
    expect(takeQueuedSyncs(env)).toEqual([itemId])
  })
})
