import { runInDurableObject } from 'cloudflare:test'
import { afterEach, describe, expect, vi } from 'vitest'
import type { PlaidTransaction } from '../../src/plaid/types'
import { resetSync, type StagedPage, stagePage } from '../../src/store/sync-staging'
import type { UserStore } from '../../src/store/user-store'
import { api, deliver } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { queuedJobs, runQueue, type TestEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import type { User } from '../helpers/linking'
import { watchSyncCalls } from '../helpers/sync-calls'
import { expectInStep } from '../helpers/transactions'
import { flakyUserStore, rowIn, rowsIn, STORE_FAILURE, userStoreOf } from '../helpers/user-store'

/** A staged page that carries no accounts, so no balances. */
const NO_BALANCES = { accounts: [], seenAt: new Date(0).toISOString() }

/** What the user's object holds for a sync: the Item's cursor and the sizes of both tables. */
async function storedState(user: User, itemId: string) {
  const cursor = await rowIn<{ transactions_cursor: string | null }>(
    user.id,
    'SELECT transactions_cursor FROM items WHERE item_id = ?',
    itemId,
  )
  const count = async (table: string) =>
    (await rowIn<{ n: number }>(user.id, `SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0
  return {
    cursor: cursor?.transactions_cursor,
    transactions: await count('transactions'),
    staged: await count('sync_staging'),
    runs: await count('sync_runs'),
  }
}

describe('a sync stages its pages in the user’s object', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('writes each page to staging as it arrives and touches no transaction or cursor before the last', async ({
    linked: { env, user, itemId },
  }) => {
    const before = await storedState(user, itemId)
    await emulator.changeTransactions(env, itemId, { add: 1100 })
    const watch = watchSyncCalls(env)
    // Pages of 500, 500 and 100: hold the third answer, with two pages staged.
    const third = watch.holdNext(2)
    const running = api.sync(env, user.token, itemId)
    await third.arrived
    expect(await storedState(user, itemId)).toEqual({ ...before, staged: 1000, runs: 1 })
    third.release()
    expect((await running).body).toMatchObject({ status: 'synced', added: 1100 })
    expect(await storedState(user, itemId)).toMatchObject({
      transactions: before.transactions + 1100,
      staged: 0,
      runs: 0,
    })
    await expectInStep(env, user, itemId)
  })

  it('leaves nothing half-applied and the cursor unmoved when Plaid fails mid-way, and drops the staging', async ({
    linked: { env, user, itemId },
  }) => {
    const before = await storedState(user, itemId)
    expect(before.cursor).toEqual(expect.any(String))
    await emulator.changeTransactions(env, itemId, { add: 1100 })
    await emulator.fault(env, { endpoint: '/transactions/sync', kind: 'status', status: 502, after: 2, times: 0 })
    expect((await api.sync(env, user.token, itemId)).status).toBe(500)
    expect(await storedState(user, itemId)).toEqual(before)
    await emulator.clearFaults(env)
    expect((await api.sync(env, user.token, itemId)).body).toMatchObject({ status: 'synced', added: 1100 })
    await expectInStep(env, user, itemId)
  })

  it('drops the staging a cut-off sync left when its Item is removed', async ({ linked: { env, user, itemId } }) => {
    // A sync whose isolate died after staging a page: no later sync of this Item will drop it.
    const store = userStoreOf(user.id)
    const run = await store.beginSync(user.id, itemId)
    await store.stageSyncPage(user.id, run?.syncId as string, {
      // The emulator's transactions as /transactions/sync would send them.
      added: (await emulator.liveTransactions(env, itemId)).slice(0, 3) as unknown as PlaidTransaction[],
      modified: [],
      removedIds: [],
      accounts: [],
      seenAt: new Date().toISOString(),
    })
    expect(await storedState(user, itemId)).toMatchObject({ staged: 3, runs: 1 })

    expect((await api.removeItem(env, user.token, itemId)).status).toBe(204)
    expect(await storedState(user, itemId)).toMatchObject({ staged: 0, runs: 0 })
  })

  it('rolls back every applied change when the final write fails part-way', async ({
    linked: { env, user, itemId },
  }) => {
    const before = await storedState(user, itemId)
    await emulator.changeTransactions(env, itemId, { add: 600, modify: 5, remove: 5 })
    // The storage refuses the last statement of the apply (clearing the staging), after the
    // transactions were written and the cursor moved.
    await rowsIn(
      user.id,
      `CREATE TRIGGER refuse_clearing BEFORE DELETE ON sync_staging
       BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END`,
    )
    expect((await api.sync(env, user.token, itemId)).status).toBe(500)
    const after = await storedState(user, itemId)
    expect({ cursor: after.cursor, transactions: after.transactions }).toEqual({
      cursor: before.cursor,
      transactions: before.transactions,
    })
    await rowsIn(user.id, 'DROP TRIGGER refuse_clearing')
    expect((await api.sync(env, user.token, itemId)).status).toBe(200)
    await expectInStep(env, user, itemId)
  })

  it('stores nothing of a transaction added on one page and removed on a later page', async ({
    linked: { env, user, itemId },
  }) => {
    // 600 additions span two pages of 500; the removals of everything follow on later pages.
    await emulator.changeTransactions(env, itemId, { add: 600 })
    const live = await emulator.liveTransactions(env, itemId)
    await emulator.changeTransactions(env, itemId, { remove: live.length })
    expect(await emulator.liveTransactions(env, itemId)).toEqual([])

    expect((await api.sync(env, user.token, itemId)).status).toBe(200)
    expect(await expectInStep(env, user, itemId)).toEqual([])
    expect(await storedState(user, itemId)).toMatchObject({ transactions: 0, staged: 0, runs: 0 })
  })

  it('drops the staging of a run abandoned long ago when the Item next syncs', async ({
    linked: { env, user, itemId },
  }) => {
    // What a run leaves when its isolate dies between two pages.
    await rowsIn(
      user.id,
      `INSERT INTO sync_runs (sync_id, item_id, start_cursor, started_at) VALUES ('died', ?, NULL, '2000-01-01T00:00:00.000Z')`,
      itemId,
    )
    await rowsIn(user.id, "INSERT INTO sync_staging (sync_id, transaction_id, removed) VALUES ('died', 'tx-died', 1)")

    expect((await api.sync(env, user.token, itemId)).status).toBe(200)
    expect(await storedState(user, itemId)).toMatchObject({ staged: 0, runs: 0 })
  })

  it('a run dropped as abandoned while it paged stages nothing more and applies nothing', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.changeTransactions(env, itemId, { add: 1100 })
    const watch = watchSyncCalls(env)
    // A has staged its first page and holds its second, for longer than a run may take.
    const second = watch.holdNext(1)
    const a = api.sync(env, user.token, itemId)
    await second.arrived
    await rowsIn(user.id, "UPDATE sync_runs SET started_at = '2000-01-01T00:00:00.000Z'")
    // B drops A's run as abandoned and syncs everything.
    expect((await api.sync(env, user.token, itemId)).body).toMatchObject({ status: 'synced', added: 1100 })

    second.release()
    expect((await a).status).toBe(500)
    expect(await storedState(user, itemId)).toMatchObject({ staged: 0, runs: 0 })
    await expectInStep(env, user, itemId)
  })
})

describe('a pagination restart', () => {
  it('forgets what the abandoned pass staged, and its counts', async ({ linked: { env, user, itemId } }) => {
    const before = await storedState(user, itemId)
    const [known] = await emulator.liveTransactions(env, itemId)
    // A transaction only the abandoned pass fetched: Plaid no longer reports it from the start cursor.
    const fetchedBeforeRestart = {
      ...known,
      transaction_id: 'fetched-before-the-restart',
    } as StagedPage['added'][number]
    const store = userStoreOf(user.id)
    const run = await store.beginSync(user.id, itemId)
    if (!run) throw new Error('the Item is not stored')

    await store.stageSyncPage(user.id, run.syncId, {
      ...NO_BALANCES,
      added: [fetchedBeforeRestart],
      modified: [],
      removedIds: [],
    })
    await store.resetSync(user.id, run.syncId)
    await store.stageSyncPage(user.id, run.syncId, { ...NO_BALANCES, added: [], modified: [], removedIds: [] })
    const outcome = await store.finishSync(user.id, run.syncId, before.cursor as string, new Date().toISOString())

    expect(outcome).toEqual({ status: 'applied', added: 0, modified: 0, removed: 0 })
    expect(await storedState(user, itemId)).toEqual(before)
  })
})

/** Makes the user's object apply a sync's staging in parts of `rows` rows (until it is evicted). */
const applyInPartsOf = (user: User, rows: number) =>
  runInDurableObject(userStoreOf(user.id), (instance) => {
    ;(instance as UserStore).applyRows = rows
  })

/**
 * A sync of 600 new transactions whose apply, in parts of 100, stops after its second part (the
 * object call for the third fails): the run is left applying, with part of its staging applied.
 */
async function interruptedApply(env: TestEnv, user: User, itemId: string) {
  const before = await storedState(user, itemId)
  await applyInPartsOf(user, 100)
  await emulator.changeTransactions(env, itemId, { add: 600 })
  const flaky = flakyUserStore('applySyncPart', { after: 1, error: () => new Error(STORE_FAILURE) })
  expect((await api.sync({ ...env, USER_STORE: flaky.namespace }, user.token, itemId)).status).toBe(500)
  const run = await rowIn<{ next_cursor: string | null }>(user.id, 'SELECT next_cursor FROM sync_runs')
  return { before, nextCursor: run?.next_cursor }
}

describe('the apply of a sync in parts', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('writes the staging in parts, one object call each, and ends with what Plaid holds and the right counts', async ({
    linked: { env, user, itemId },
  }) => {
    // In three calls, so that none picks what another changed: 1,110 staged rows in all.
    await emulator.changeTransactions(env, itemId, { remove: 5 })
    await emulator.changeTransactions(env, itemId, { modify: 5 })
    await emulator.changeTransactions(env, itemId, { add: 1100 })
    await applyInPartsOf(user, 100)
    // Counts the object calls without failing any.
    const counting = flakyUserStore('applySyncPart', { after: Number.MAX_SAFE_INTEGER })

    const res = await api.sync({ ...env, USER_STORE: counting.namespace }, user.token, itemId)
    expect(res.body).toEqual({ status: 'synced', added: 1100, modified: 5, removed: 5 })
    // The first part is written by finishSync, the other 11 by a call each.
    expect(counting.counted.calls).toBe(11)
    expect(await storedState(user, itemId)).toMatchObject({ staged: 0, runs: 0 })
    await expectInStep(env, user, itemId)
  })

  it('leaves the cursor unmoved when it stops between parts; the next sync finishes it from its staging', async ({
    linked: { env, user, itemId },
  }) => {
    const { before, nextCursor } = await interruptedApply(env, user, itemId)
    const stopped = await storedState(user, itemId)
    // Two parts of 100 applied, the rest still staged, and the cursor where it was.
    expect(stopped).toEqual({ ...before, transactions: before.transactions + 200, staged: 400, runs: 1 })
    expect(nextCursor).toEqual(expect.any(String))

    // Plaid then removes everything, among it transactions the stopped apply wrote.
    const live = await emulator.liveTransactions(env, itemId)
    await emulator.changeTransactions(env, itemId, { remove: live.length })
    const watch = watchSyncCalls(env)
    const res = await api.sync(env, user.token, itemId)
    // The stopped run's 600 are applied, then this sync's own run removes them all.
    expect(res.body).toEqual({ status: 'synced', added: 600, modified: 0, removed: live.length })
    // From the stopped run's cursor: its staging is not fetched again from the old one.
    expect(watch.calls[0]?.cursor).toBe(nextCursor)
    expect(await expectInStep(env, user, itemId)).toEqual([])
    expect(await storedState(user, itemId)).toMatchObject({ transactions: 0, staged: 0, runs: 0 })
  })

  it('stopped in a webhook’s job, is finished by the job’s retry', async ({ linked: { env, user, itemId } }) => {
    const before = await storedState(user, itemId)
    await applyInPartsOf(user, 100)
    await emulator.changeTransactions(env, itemId, { add: 600, fire_webhook: true })
    const [announced] = (await emulator.webhooks(env)).filter((d) => d.body.includes('SYNC_UPDATES_AVAILABLE'))
    if (!announced) throw new Error('Plaid announced nothing')
    expect((await deliver(env, announced)).status).toBe(200)
    const flaky = flakyUserStore('applySyncPart', { after: 1, error: () => new Error(STORE_FAILURE) })

    const first = await runQueue({ ...env, USER_STORE: flaky.namespace }, { allowRetries: true })
    expect(first.retried).toHaveLength(1)
    expect(await storedState(user, itemId)).toMatchObject({ cursor: before.cursor, runs: 1 })
    // The queue delivers the job again, after its backoff.
    queuedJobs(env).push(...first.retried)
    expect((await runQueue(env)).retried).toEqual([])
    expect(await storedState(user, itemId)).toMatchObject({ staged: 0, runs: 0 })
    await expectInStep(env, user, itemId)
  })

  it('is finished, not dropped as abandoned, however long ago its run started', async ({
    linked: { env, user, itemId },
  }) => {
    const { nextCursor } = await interruptedApply(env, user, itemId)
    await rowsIn(user.id, "UPDATE sync_runs SET started_at = '2000-01-01T00:00:00.000Z'")
    const watch = watchSyncCalls(env)

    expect((await api.sync(env, user.token, itemId)).body).toMatchObject({ status: 'synced', added: 600 })
    expect(watch.calls[0]?.cursor).toBe(nextCursor)
    expect(await storedState(user, itemId)).toMatchObject({ staged: 0, runs: 0 })
    await expectInStep(env, user, itemId)
  })

  it('tries a part again in the same sync when its call fails with an error Cloudflare marks retryable', async ({
    linked: { env, user, itemId },
  }) => {
    await applyInPartsOf(user, 100)
    await emulator.changeTransactions(env, itemId, { add: 600 })
    const flaky = flakyUserStore('applySyncPart', { after: 1 })

    const res = await api.sync({ ...env, USER_STORE: flaky.namespace }, user.token, itemId)
    expect(res.body).toEqual({ status: 'synced', added: 600, modified: 0, removed: 0 })
    expect(await storedState(user, itemId)).toMatchObject({ staged: 0, runs: 0 })
    await expectInStep(env, user, itemId)
  })

  it('lets no other run of the Item begin its apply or move the cursor while one is applying', async ({
    linked: { env, user, itemId },
  }) => {
    const before = await storedState(user, itemId)
    await applyInPartsOf(user, 1)
    const store = userStoreOf(user.id)
    const changed = (await emulator.liveTransactions(env, itemId))
      .slice(0, 3)
      .map((t) => ({ ...t, amount: t.amount + 1 })) as unknown as PlaidTransaction[]
    const page = { ...NO_BALANCES, added: [], modified: changed, removedIds: [] }
    // Two runs from the same cursor, both with all their pages staged.
    const a = await store.beginSync(user.id, itemId)
    const b = await store.beginSync(user.id, itemId)
    if (!a || !b) throw new Error('the Item is not stored')
    await store.stageSyncPage(user.id, a.syncId, page)
    await store.stageSyncPage(user.id, b.syncId, page)
    const now = new Date().toISOString()
    expect(await store.finishSync(user.id, a.syncId, 'cursor-of-a', now)).toEqual({ status: 'applying' })

    expect(await store.finishSync(user.id, b.syncId, 'cursor-of-b', now)).toEqual({ status: 'lost' })
    expect(await storedState(user, itemId)).toMatchObject({ cursor: before.cursor, runs: 1 })
    // A sync beginning now is handed the applying run, to finish it first.
    expect(await store.beginSync(user.id, itemId)).toEqual({ ...a, applying: true })
    expect(await store.applySyncPart(user.id, a.syncId, now)).toEqual({ status: 'applying' })
    expect(await store.applySyncPart(user.id, a.syncId, now)).toEqual({
      status: 'applied',
      added: 0,
      modified: 3,
      removed: 0,
    })
    expect(await storedState(user, itemId)).toMatchObject({ cursor: 'cursor-of-a', staged: 0, runs: 0 })
    expect(await store.applySyncPart(user.id, a.syncId, now)).toEqual({ status: 'lost' })
  })

  it('keeps an applying run’s staging as it is: no more pages, no restart, and giving the run up keeps it', async ({
    linked: { env, user, itemId },
  }) => {
    await interruptedApply(env, user, itemId)
    const stopped = await storedState(user, itemId)
    const run = await rowIn<{ sync_id: string }>(user.id, 'SELECT sync_id FROM sync_runs')
    const syncId = run?.sync_id as string
    const store = userStoreOf(user.id)
    const more = (await emulator.liveTransactions(env, itemId)).slice(0, 1) as unknown as PlaidTransaction[]

    // Inside the object: a refused call made through its stub would also surface as the object's
    // uncaught error, which the test runner counts against the run.
    await runInDurableObject(store, (_instance, state) => {
      const sql = state.storage.sql
      const page = { ...NO_BALANCES, added: more, modified: [], removedIds: [] }
      expect(() => state.storage.transactionSync(() => stagePage(sql, syncId, page))).toThrow('sync run dropped')
      expect(() => state.storage.transactionSync(() => resetSync(sql, syncId))).toThrow('sync run dropped')
    })
    await store.dropSync(user.id, syncId)
    expect(await storedState(user, itemId)).toEqual(stopped)
    expect((await api.sync(env, user.token, itemId)).body).toMatchObject({ status: 'synced', added: 600 })
    await expectInStep(env, user, itemId)
  })
})
