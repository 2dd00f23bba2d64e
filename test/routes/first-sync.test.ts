import { describe, expect } from 'vitest'
import { api, deliverAndConsume } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { queuedJobs, runQueue, testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { exchange, itemIdOf, linkItemBeforeFirstSync, newUser } from '../helpers/linking'
import { captureLogs } from '../helpers/logs'
import { byId, core, expectInStep, listAll } from '../helpers/transactions'

const syncWebhooks = async (env: ReturnType<typeof testEnv>) =>
  (await emulator.webhooks(env)).filter((d) => JSON.parse(d.body).webhook_code === 'SYNC_UPDATES_AVAILABLE')

describe("a new Item's first sync (Plaid sends SYNC_UPDATES_AVAILABLE only once /transactions/sync was called)", () => {
  it('is queued by the exchange, which answers first; then, with no webhook and no manual sync, the transactions are listed', async () => {
    const env = testEnv()
    const user = await newUser()
    const res = await exchange(env, user, await emulator.publicToken(env))
    expect(res.status).toBe(201)
    const itemId = itemIdOf(res)
    expect(queuedJobs(env)).toEqual([
      expect.objectContaining({
        webhook_type: 'TRANSACTIONS',
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
        item_id: itemId,
        reason: 'linked',
        signed_at: null,
      }),
    ])
    // The answer did not wait for the sync.
    expect(res.body.item).toMatchObject({ transactions_synced_at: null })
    expect(await listAll(env, user)).toEqual([])
    expect((await emulator.items(env))[0]?.sync_called).toBe(false)

    await runQueue(env)
    const item = await api.item(env, user.token, itemId)
    const syncedAt = (item.body.item as { transactions_synced_at: string }).transactions_synced_at
    expect(syncedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)
    const live = await emulator.liveTransactions(env, itemId)
    expect(live.length).toBeGreaterThan(0)
    expect((await listAll(env, user)).map(core).sort(byId)).toEqual(live.map(core).sort(byId))
  })

  it('is what lets Plaid announce later changes', async () => {
    const env = testEnv()
    const user = await newUser()
    const res = await exchange(env, user, await emulator.publicToken(env))
    const itemId = itemIdOf(res)
    await emulator.changeTransactions(env, itemId, { add: 3, fire_webhook: true })
    expect(await syncWebhooks(env)).toEqual([])

    await runQueue(env)
    await emulator.changeTransactions(env, itemId, { add: 4, fire_webhook: true })
    const [announced, ...more] = await syncWebhooks(env)
    expect(more).toEqual([])
    if (!announced) throw new Error('Plaid announced nothing after the first sync')
    await deliverAndConsume(env, announced)
    const live = await emulator.liveTransactions(env, itemId)
    expect((await listAll(env, user)).map(core).sort(byId)).toEqual(live.map(core).sort(byId))
  })

  it('is queued again when update mode repairs the Item', async ({ linked: { env, user, itemId } }) => {
    await emulator.requireLogin(env, itemId)
    const refresh = () => api.refresh(env, user.token, itemId)
    expect(((await refresh()).body.item as { status: string }).status).toBe('login_required')
    expect(queuedJobs(env)).toEqual([])
    await emulator.repair(env, itemId)
    expect(((await refresh()).body.item as { status: string }).status).toBe('good')
    expect(queuedJobs(env)).toEqual([expect.objectContaining({ item_id: itemId, reason: 'repaired' })])
    expect((await runQueue(env)).retried).toEqual([])
  })

  it('is queued by a refresh of an Item whose queued first sync never ran', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    const refreshed = await api.refresh(env, user.token, itemId)
    expect(refreshed.status).toBe(200)
    expect(queuedJobs(env)).toEqual([expect.objectContaining({ item_id: itemId, reason: 'linked' })])
    await runQueue(env)
    expect((await expectInStep(env, user, itemId)).length).toBeGreaterThan(0)
  })

  it('is not queued again for a replay of the same public token', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    expect((await exchange(env, user, publicToken)).status).toBe(201)
    await runQueue(env)
    expect((await exchange(env, user, publicToken)).status).toBe(200)
    expect(queuedJobs(env)).toEqual([])
  })

  it('still answers 201 when the queue refuses the job, and says so in the log', async () => {
    const refusing = { send: () => Promise.reject(new Error('queue down')), sendBatch: async () => {} }
    const env = testEnv({ WEBHOOK_QUEUE: refusing as unknown as Queue<never> })
    const user = await newUser()
    const { result: res, logs } = await captureLogs(async () => exchange(env, user, await emulator.publicToken(env)))
    expect(res.status).toBe(201)
    expect(logs).toContain('item sync could not be queued; a manual sync or refresh starts it')
  })
})
