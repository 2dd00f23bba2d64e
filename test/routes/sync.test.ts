import { afterEach, describe, expect, vi } from 'vitest'
import { api, deliverAndConsume } from '../helpers/api'
import { emulator, type PlaidTransaction } from '../helpers/emulator'
import { testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { linkItemBeforeFirstSync, newUser } from '../helpers/linking'
import { watchSyncCalls } from '../helpers/sync-calls'
import { expectInStep, listAll } from '../helpers/transactions'
import { rowIn } from '../helpers/user-store'

describe('POST /api/v1/banking/items/{item_id}/sync', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("stores the Item's transactions and answers what changed", async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ status: 'synced', removed: 0 })
    expect(res.body.added).toBeGreaterThan(0)
    const listed = await expectInStep(env, user, itemId)
    expect(listed.length).toBe(res.body.added)
  })

  it('applies later additions, modifications and removals', async ({ linked: { env, user, itemId } }) => {
    await api.sync(env, user.token, itemId)
    await emulator.changeTransactions(env, itemId, { add: 30, modify: 5, remove: 4 })
    const res = await api.sync(env, user.token, itemId)
    expect(res.body).toMatchObject({ status: 'synced', added: 30, modified: 5, removed: 4 })
    await expectInStep(env, user, itemId)
  })

  it('replaces a pending transaction with the posted one that names it, never listing both', async ({
    linked: { env, user, itemId },
  }) => {
    // New card purchases are mostly still pending for a day or two.
    let pending: PlaidTransaction[] = []
    for (let round = 0; pending.length === 0 && round < 10; round++) {
      await emulator.changeTransactions(env, itemId, { add: 10 })
      pending = (await emulator.liveTransactions(env, itemId)).filter((t) => t.pending)
    }
    expect(pending.length).toBeGreaterThan(0)
    await api.sync(env, user.token, itemId)
    const before = await expectInStep(env, user, itemId)
    expect(before.filter((t) => t.pending).length).toBe(pending.length)

    // Plaid removes each pending transaction and adds the posted one in the same update.
    await emulator.changeTransactions(env, itemId, { post: pending.length })
    const res = await api.sync(env, user.token, itemId)
    expect(res.body).toEqual({ status: 'synced', added: pending.length, modified: 0, removed: pending.length })
    const listed = await expectInStep(env, user, itemId)
    const ids = new Set(listed.map((t) => t.transaction_id))
    for (const p of pending) {
      expect(ids.has(p.transaction_id)).toBe(false)
      expect(listed.filter((t) => t.pending_transaction_id === p.transaction_id)).toEqual([
        expect.objectContaining({ pending: false, account_id: p.account_id, amount: p.amount }),
      ])
    }
    // No listed transaction is the pending one another replaced.
    expect(listed.filter((t) => listed.some((other) => other.pending_transaction_id === t.transaction_id))).toEqual([])
  })

  it('changes nothing when run again with nothing new', async ({ linked: { env, user, itemId } }) => {
    await api.sync(env, user.token, itemId)
    const before = await listAll(env, user)
    const again = await api.sync(env, user.token, itemId)
    expect(again.body).toEqual({ status: 'synced', added: 0, modified: 0, removed: 0 })
    expect(await listAll(env, user)).toEqual(before)
  })

  it('pages through large histories (has_more) before writing', async ({ linked: { env, user, itemId } }) => {
    await emulator.changeTransactions(env, itemId, { add: 1200 })
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(200)
    expect((await emulator.calls(env))['/transactions/sync']).toBeGreaterThanOrEqual(3)
    expect((await expectInStep(env, user, itemId)).length).toBeGreaterThan(1200)
  })

  it('leaves exactly what Plaid reports when syncs of one Item run at once', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.changeTransactions(env, itemId, { add: 1100, modify: 20, remove: 15 })
    const results = await Promise.all([1, 2, 3].map(() => api.sync(env, user.token, itemId)))
    for (const r of results) expect([200, 409]).toContain(r.status)
    await emulator.changeTransactions(env, itemId, { add: 10, modify: 10, remove: 10 })
    await Promise.all([1, 2].map(() => api.sync(env, user.token, itemId)))
    await api.sync(env, user.token, itemId)
    await expectInStep(env, user, itemId)
  })

  it('a sync that fetched before a removal and writes after a webhook sync brings nothing back', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.changeTransactions(env, itemId, { add: 30 })
    await emulator.webhooks(env) // forget what linking sent
    const watch = watchSyncCalls(env)

    // A: a manual sync that has fetched everything Plaid holds now, then waits before writing.
    const held = watch.holdNext()
    const manual = api.sync(env, user.token, itemId)
    await held.arrived

    // Meanwhile Plaid removes a transaction A has fetched, and a webhook-driven sync stores that.
    const before = new Set((await emulator.liveTransactions(env, itemId)).map((t) => t.transaction_id))
    await emulator.changeTransactions(env, itemId, { remove: 1, fire_webhook: true })
    const live = await emulator.liveTransactions(env, itemId)
    const [removed] = [...before].filter((id) => !live.some((t) => t.transaction_id === id))
    expect(removed).toBeDefined()
    const webhooks = (await emulator.webhooks(env)).filter(
      (d) => JSON.parse(d.body).webhook_code === 'SYNC_UPDATES_AVAILABLE',
    )
    expect(webhooks).toHaveLength(1)
    await deliverAndConsume(env, webhooks[0] as (typeof webhooks)[number])
    expect((await listAll(env, user)).map((t) => t.transaction_id)).not.toContain(removed)

    held.release()
    expect((await manual).status).toBe(200)
    // No further sync: what is listed now must already be exactly what Plaid holds.
    const listed = await expectInStep(env, user, itemId)
    expect(listed.map((t) => t.transaction_id)).not.toContain(removed)
  })

  it('a sync that lost the race over other changes moves no cursor and loses none of what only it fetched', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.changeTransactions(env, itemId, { add: 5 })
    const watch = watchSyncCalls(env)

    // A fetches the first 5 changes and waits; then Plaid gets 7 more, which only B fetches.
    const heldA = watch.holdNext()
    const a = api.sync(env, user.token, itemId)
    await heldA.arrived
    await emulator.changeTransactions(env, itemId, { add: 7 })
    const heldB = watch.holdNext()
    const b = api.sync(env, user.token, itemId)
    await heldB.arrived
    const [fromA, fromB] = watch.calls
    expect(fromB?.cursor).toBe(fromA?.cursor)

    // A writes first and wins; B, which started from the same cursor, must start again from A's.
    heldA.release()
    expect((await a).body).toMatchObject({ status: 'synced', added: 5 })
    heldB.release()
    expect((await b).body).toMatchObject({ status: 'synced', added: 7 })
    const last = watch.calls.at(-1)
    expect(last?.cursor).toBe(fromA?.nextCursor)
    const { transactions_cursor: cursor } = (await rowIn(
      user.id,
      'SELECT transactions_cursor FROM items WHERE item_id = ?',
      itemId,
    )) as { transactions_cursor: string }
    expect(cursor).toBe(last?.nextCursor)
    await expectInStep(env, user, itemId)
  })

  it('starts again from its first cursor on TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', async ({
    linked: { env, user, itemId },
  }) => {
    const watch = watchSyncCalls(env)
    expect((await api.sync(env, user.token, itemId)).status).toBe(200)
    const startCursor = watch.calls.at(-1)?.nextCursor
    expect(startCursor).toEqual(expect.any(String))
    expect(startCursor).not.toBe('')
    watch.calls.length = 0
    await emulator.changeTransactions(env, itemId, { add: 1100 })
    await emulator.fault(env, {
      endpoint: '/transactions/sync',
      kind: 'plaid_error',
      after: 1,
      error_type: 'TRANSACTIONS_ERROR',
      error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION',
      error_message:
        'Underlying transaction data changed since last page was fetched. Please restart pagination from last update.',
    })
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(200)
    // What the restarted pass found, counted once: nothing of the abandoned first page twice.
    expect(res.body).toMatchObject({ status: 'synced', added: 1100 })
    // First page, the failed second page, then a full pass again from the start.
    expect((await emulator.calls(env))['/transactions/sync']).toBeGreaterThanOrEqual(2 + 3)
    const [first, failed, restarted] = watch.calls
    expect(first).toMatchObject({ cursor: startCursor, status: 200 })
    expect(failed).toMatchObject({ cursor: first?.nextCursor, status: 400 })
    // The restart goes back to the cursor this sync started from: not to scratch, not to the last page.
    expect(restarted).toMatchObject({ cursor: startCursor, status: 200 })
    expect(watch.calls.length).toBeGreaterThanOrEqual(2 + 3)
    await expectInStep(env, user, itemId)
  })

  it('treats an empty next_cursor (data not ready yet) as nothing to do', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    await emulator.setTransactionsReady(env, itemId, false)
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'not_ready', added: 0, modified: 0, removed: 0 })
    expect(await listAll(env, user)).toEqual([])
    await emulator.setTransactionsReady(env, itemId, true)
    expect((await api.sync(env, user.token, itemId)).body.status).toBe('synced')
    await expectInStep(env, user, itemId)
  })

  it('records ITEM_LOGIN_REQUIRED on the Item and answers 400', async ({ linked: { env, user, itemId } }) => {
    await emulator.requireLogin(env, itemId)
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ error_code: 'ITEM_LOGIN_REQUIRED' })
    expect(res.body.detail).toMatch(/^Failed to sync transactions: /)
    const item = await api.item(env, user.token, itemId)
    expect(item.body.item).toMatchObject({ status: 'login_required' })
  })

  it('writes nothing when Plaid fails half-way through the pages', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    await emulator.changeTransactions(env, itemId, { add: 1100 })
    await emulator.fault(env, { endpoint: '/transactions/sync', kind: 'status', status: 502, after: 1, times: 0 })
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(500)
    expect(await listAll(env, user)).toEqual([])
    await emulator.clearFaults(env)
    expect((await api.sync(env, user.token, itemId)).status).toBe(200)
    await expectInStep(env, user, itemId)
  })

  it('deletes the transactions with their Item', async ({ linked: { env, user, itemId } }) => {
    await api.sync(env, user.token, itemId)
    expect((await api.removeItem(env, user.token, itemId)).status).toBe(204)
    expect(await listAll(env, user)).toEqual([])
  })
})
