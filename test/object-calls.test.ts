import { describe, expect, it } from 'vitest'
import { CALL_ATTEMPTS } from '../src/store/user-store'
import { api } from './helpers/api'
import { emulator } from './helpers/emulator'
import { testEnv } from './helpers/env'
import { exchange, itemIdOf, linkItem, newUser } from './helpers/linking'
import { flakyUserStore, rowIn, STORE_FAILURE } from './helpers/user-store'

const storeFailure = () => new Error(STORE_FAILURE)

describe('calls to a user’s object', () => {
  it('try a read again on a fresh stub when the runtime says the error is retryable', async () => {
    const healthy = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(healthy, user))
    const flaky = flakyUserStore('listItems', { times: CALL_ATTEMPTS - 1 })

    const res = await api.items({ ...healthy, USER_STORE: flaky.namespace }, user.token)
    expect(res.status).toBe(200)
    expect((res.body.items as Array<{ item_id: string }>).map((item) => item.item_id)).toEqual([itemId])
    expect(flaky.counted.calls).toBe(CALL_ATTEMPTS)
  })

  it(`give up after ${CALL_ATTEMPTS} tries`, async () => {
    const healthy = testEnv()
    const user = await newUser()
    await linkItem(healthy, user)
    const flaky = flakyUserStore('listItems', { times: 100 })

    const res = await api.items({ ...healthy, USER_STORE: flaky.namespace }, user.token)
    expect(res.status).toBe(500)
    expect(flaky.counted.calls).toBe(CALL_ATTEMPTS)
  })

  it('never repeat a call that may have written: a public token claim lost to a retryable error is made once', async () => {
    const env = testEnv()
    const user = await newUser()
    const flaky = flakyUserStore('claimPublicToken')

    const res = await exchange({ ...env, USER_STORE: flaky.namespace }, user, await emulator.publicToken(env))
    expect(res.status).toBe(500)
    expect(flaky.counted.calls).toBe(1)
  })

  it('after one fails, go to a fresh stub: an exchange whose save failed releases its claim on the public token', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    // The stub that failed the save fails every later call, as a broken stub does.
    const flaky = flakyUserStore('insertLinkedItem', { error: storeFailure })

    const res = await exchange({ ...env, USER_STORE: flaky.namespace }, user, publicToken)
    expect(res.status).toBe(500)
    expect(await rowIn(user.id, 'SELECT * FROM public_token_exchanges')).toBeNull()
  })

  it('after one fails, go to a fresh stub: a sync whose page could not be staged drops what it staged before', async () => {
    const healthy = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(healthy, user))
    await emulator.changeTransactions(healthy, itemId, { add: 1100 })
    // Pages of 500: the first is staged, the second fails, and the stub with it.
    const flaky = flakyUserStore('stageSyncPage', { after: 1, error: storeFailure })

    const env = { ...healthy, USER_STORE: flaky.namespace }
    expect((await api.sync(env, user.token, itemId)).status).toBe(500)
    expect(await rowIn(user.id, 'SELECT COUNT(*) AS n FROM sync_staging')).toEqual({ n: 0 })
    expect(await rowIn(user.id, 'SELECT COUNT(*) AS n FROM sync_runs')).toEqual({ n: 0 })
  })
})
