import { runInDurableObject } from 'cloudflare:test'
import { afterEach, describe, expect, vi } from 'vitest'
import { PENDING_LINK_GRACE_MS } from '../../src/store/pending-links'
import { api } from '../helpers/api'
import { stoppingAfterD1 } from '../helpers/d1'
import { emulator } from '../helpers/emulator'
import { runQueue, type TestEnv, testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { exchange, itemIdOf, newUser } from '../helpers/linking'
import {
  failingAfterUserStore,
  pausingAfterUserStore,
  rowsIn,
  runUserStoreAlarm,
  stoppingAfterUserStore,
  userStoreOf,
} from '../helpers/user-store'

afterEach(() => {
  vi.useRealTimers()
})

const listed = async (env: TestEnv, token: string) =>
  ((await api.items(env, token)).body.items as { item_id: string }[]).map((i) => i.item_id)

/** Past the pending link's grace period: the user's object wakes, and the job it queues runs. */
async function wakeAfterGrace(env: TestEnv, userId: string) {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.now() + PENDING_LINK_GRACE_MS + 1_000)
  const nextWake = await runUserStoreAlarm(userId, env.WEBHOOK_QUEUE)
  const { ran } = await runQueue(env)
  // Back to now, for the user's token.
  vi.useRealTimers()
  return { nextWake, ran }
}

describe('a browser that goes away mid-exchange (Cloudflare stops the request’s work)', () => {
  const stops = [
    {
      step: 'right after the pending link is recorded (before /accounts/get)',
      stop: () => {
        const { namespace, reached } = stoppingAfterUserStore('recordPendingLink')
        return { overrides: { USER_STORE: namespace }, reached }
      },
    },
    {
      step: 'right after the Item is indexed in D1',
      stop: () => {
        const { db, reached } = stoppingAfterD1((sql) => sql.includes('INSERT INTO item_index'))
        return { overrides: { DB: db }, reached }
      },
    },
    {
      step: 'right after the Item is stored in the user’s object',
      stop: () => {
        const { namespace, reached } = stoppingAfterUserStore('insertLinkedItem')
        return { overrides: { USER_STORE: namespace }, reached }
      },
    },
  ]

  it.each(stops)('ends with the Item listed for its user when the work stops $step', async ({ stop }) => {
    const env = testEnv()
    const user = await newUser()
    const stopped = stop()
    const publicToken = await emulator.publicToken(env)
    void exchange({ ...env, ...stopped.overrides } as TestEnv, user, publicToken)
    await stopped.reached
    const [atPlaid] = await emulator.items(env)

    await wakeAfterGrace(env, user.id)
    expect(await listed(env, user.token)).toEqual([atPlaid?.item_id])
    expect((await emulator.items(env)).map((i) => i.removed)).toEqual([false])
    expect(await rowsIn(user.id, 'SELECT item_id FROM pending_links')).toEqual([])
    // Indexed too: Plaid's webhooks for it find it.
    const synced = await api.sync(env, user.token, `${atPlaid?.item_id}`)
    expect(synced.status).toBe(200)
  })

  it('records the pending link, with the token sealed, and sets the object to wake after the grace period', async () => {
    const env = testEnv()
    const user = await newUser()
    const stopped = stoppingAfterUserStore('recordPendingLink')
    const publicToken = await emulator.publicToken(env)
    const before = Date.now()
    void exchange({ ...env, USER_STORE: stopped.namespace } as TestEnv, user, publicToken)
    await stopped.reached
    const [pending] = await rowsIn<{ item_id: string; access_token_sealed: string }>(
      user.id,
      'SELECT item_id, access_token_sealed FROM pending_links',
    )
    expect(pending?.item_id).toBe((await emulator.items(env))[0]?.item_id)
    expect(pending?.access_token_sealed).not.toMatch(/access-sandbox-/)
    const alarm = await alarmOf(user.id)
    expect(alarm).toBeGreaterThanOrEqual(before + PENDING_LINK_GRACE_MS)
  })

  it('removes the pending link at Plaid when it turns out to duplicate an Item the user has', async ({
    linked: { env, user, itemId: first },
  }) => {
    const stopped = stoppingAfterUserStore('recordPendingLink')
    void exchange({ ...env, USER_STORE: stopped.namespace } as TestEnv, user, await emulator.publicToken(env))
    await stopped.reached

    await wakeAfterGrace(env, user.id)
    expect(await listed(env, user.token)).toEqual([first])
    const atPlaid = await emulator.items(env)
    expect(atPlaid.filter((i) => i.removed).map((i) => i.item_id)).not.toContain(first)
    expect(atPlaid.filter((i) => i.removed)).toHaveLength(1)
    expect(await rowsIn(user.id, 'SELECT item_id FROM pending_links')).toEqual([])
  })

  it('leaves a link still within its grace period to the request that is storing it', async () => {
    const env = testEnv()
    const user = await newUser()
    const stopped = stoppingAfterUserStore('recordPendingLink')
    void exchange({ ...env, USER_STORE: stopped.namespace } as TestEnv, user, await emulator.publicToken(env))
    await stopped.reached
    const nextWake = await runUserStoreAlarm(user.id, env.WEBHOOK_QUEUE)
    await runQueue(env)
    expect(await listed(env, user.token)).toEqual([])
    expect(await rowsIn(user.id, 'SELECT item_id FROM pending_links')).toHaveLength(1)
    // It wakes again to look once more.
    expect(nextWake).not.toBeNull()
  })

  it('keeps a link Plaid cannot be asked about now, and finishes it at a later wake', async () => {
    const env = testEnv()
    const user = await newUser()
    const stopped = stoppingAfterUserStore('recordPendingLink')
    void exchange({ ...env, USER_STORE: stopped.namespace } as TestEnv, user, await emulator.publicToken(env))
    await stopped.reached
    await emulator.fault(env, { endpoint: '/accounts/get', kind: 'disconnect', times: 0 })
    await wakeAfterGrace(env, user.id)
    expect(await rowsIn(user.id, 'SELECT item_id FROM pending_links')).toHaveLength(1)

    await emulator.clearFaults(env)
    await wakeAfterGrace(env, user.id)
    expect(await listed(env, user.token)).toHaveLength(1)
    expect(await rowsIn(user.id, 'SELECT item_id FROM pending_links')).toEqual([])
  })
})

describe('a request slower than the grace period, whose link the background finished meanwhile', () => {
  it('answers 201 with that Item when it goes on, and neither stores it twice nor removes it at Plaid', async () => {
    const env = testEnv()
    const user = await newUser()
    const paused = pausingAfterUserStore('recordPendingLink')
    const publicToken = await emulator.publicToken(env)
    const answer = exchange({ ...env, USER_STORE: paused.namespace } as TestEnv, user, publicToken)
    await paused.reached
    await wakeAfterGrace(env, user.id)
    const [finished] = await listed(env, user.token)
    expect(finished).toBeDefined()

    paused.resume()
    const res = await answer
    expect(res.status).toBe(201)
    expect(itemIdOf(res)).toBe(finished)
    expect(await listed(env, user.token)).toEqual([finished])
    expect((await emulator.items(env)).map((i) => i.removed)).toEqual([false])
  })
})

describe('a failed object write during the exchange', () => {
  it('is not taken for nothing written: an Item stored before the call failed stays linked (201), not removed at Plaid', async () => {
    const env = testEnv({ USER_STORE: failingAfterUserStore('insertLinkedItem') })
    const user = await newUser()
    const res = await exchange(env, user, await emulator.publicToken(env))
    expect(res.status).toBe(201)
    expect(await listed(env, user.token)).toEqual([itemIdOf(res)])
    expect((await emulator.items(env)).map((i) => i.removed)).toEqual([false])
  })
})

/** When the user's object is set to wake next (null: not set). */
const alarmOf = (userId: string) =>
  runInDurableObject(userStoreOf(userId), (_instance, state) => state.storage.getAlarm())
