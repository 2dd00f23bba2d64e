import { describe, expect, it } from 'vitest'
import { itemIdOf, linkItem, newUser } from '../helpers/linking'
import { call, emulator, testEnv } from '../helpers/worker'

type Account = {
  account_id: string
  item_id: string
  balances: { current: number | null }
  balances_updated_at: string
}

describe('GET /api/v1/banking/accounts', () => {
  it("lists the user's accounts with balances as last fetched, without calling Plaid", async () => {
    const env = testEnv()
    const user = await newUser()
    const linked = await linkItem(env, user)
    const before = await emulator.calls(env)
    const res = await call(env, 'GET', '/api/v1/banking/accounts', { token: user.token })
    expect(res.status).toBe(200)
    expect(res.body.accounts).toEqual(linked.body.accounts)
    expect(await emulator.calls(env)).toEqual(before)
  })

  it.each(['_=1', '_=1700000000&color=blue'])(
    'ignores query parameters it does not know (%s), such as the cache-busters HTTP clients add',
    async (query) => {
      const env = testEnv()
      const user = await newUser()
      const linked = await linkItem(env, user)
      const res = await call(env, 'GET', `/api/v1/banking/accounts?${query}`, { token: user.token })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ accounts: linked.body.accounts })
    },
  )

  it('applies the parameters it knows beside one it does not', async () => {
    const env = testEnv()
    const user = await newUser()
    const a = itemIdOf(await linkItem(env, user, 'ins_109508'))
    await linkItem(env, user, 'ins_109509')
    const res = await call(env, 'GET', `/api/v1/banking/accounts?_=1&item_id=${a}`, { token: user.token })
    expect(res.status).toBe(200)
    const accounts = res.body.accounts as Account[]
    expect(accounts.length).toBeGreaterThan(0)
    expect(accounts.every((account) => account.item_id === a)).toBe(true)
  })

  it('filters by item_id', async () => {
    const env = testEnv()
    const user = await newUser()
    const a = itemIdOf(await linkItem(env, user, 'ins_109508'))
    await linkItem(env, user, 'ins_109509')
    const res = await call(env, 'GET', `/api/v1/banking/accounts?item_id=${a}`, { token: user.token })
    const accounts = res.body.accounts as Account[]
    expect(accounts.length).toBeGreaterThan(0)
    expect(new Set(accounts.map((x) => x.item_id))).toEqual(new Set([a]))
  })

  it('refreshes live balances from Plaid with refresh=true', async () => {
    const env = testEnv()
    const user = await newUser()
    const linked = await linkItem(env, user)
    const res = await call(env, 'GET', '/api/v1/banking/accounts?refresh=true', { token: user.token })
    expect(res.status).toBe(200)
    expect((await emulator.calls(env))['/accounts/balance/get']).toBe(1)
    const before = linked.body.accounts as Account[]
    const after = res.body.accounts as Account[]
    expect(after.map((a) => a.account_id)).toEqual(before.map((a) => a.account_id))
    expect(after.map((a) => a.balances.current)).not.toEqual(before.map((a) => a.balances.current))
    // And the refreshed balances are what is stored now.
    expect((await call(env, 'GET', '/api/v1/banking/accounts', { token: user.token })).body.accounts).toEqual(after)
  })

  it('records ITEM_LOGIN_REQUIRED on the Item and answers 400 so the frontend can start update mode', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    await emulator.requireLogin(env, itemId)
    const res = await call(env, 'GET', '/api/v1/banking/accounts?refresh=true', { token: user.token })
    expect(res.status).toBe(400)
    expect(res.body.error_code).toBe('ITEM_LOGIN_REQUIRED')
    expect(res.body.detail).toMatch(/^Failed to list accounts: /)
    const items = await call(env, 'GET', '/api/v1/banking/items', { token: user.token })
    expect(items.body.items).toEqual([
      expect.objectContaining({ item_id: itemId, status: 'login_required', error_code: 'ITEM_LOGIN_REQUIRED' }),
    ])
  })

  it('clears login_required once a balance refresh succeeds after the user repaired the login', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    await emulator.requireLogin(env, itemId)
    const refresh = () => call(env, 'GET', '/api/v1/banking/accounts?refresh=true', { token: user.token })
    expect((await refresh()).status).toBe(400)
    await emulator.repair(env, itemId)
    expect((await refresh()).status).toBe(200)
    const item = await call(env, 'GET', `/api/v1/banking/items/${itemId}`, { token: user.token })
    expect(item.body.item).toMatchObject({ status: 'good', error_code: null })
  })

  it('gives the balance call its own timeout', async () => {
    const env = testEnv({ PLAID_BALANCE_TIMEOUT_MS: '300' })
    const user = await newUser()
    await linkItem(env, user)
    await emulator.fault(env, { endpoint: '/accounts/balance/get', kind: 'slow', delay_ms: 5000 })
    const res = await call(env, 'GET', '/api/v1/banking/accounts?refresh=true', { token: user.token })
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ detail: 'Failed to list accounts: Plaid did not answer within 300 ms', retryable: true })
  })

  it.each([
    ['refresh=yes', /refresh must be true or false/],
    ['item_id=', /item_id must not be empty/],
    // A cache-buster beside them changes nothing: the known parameter is still checked.
    ['_=1&refresh=yes', /^invalid query: refresh: refresh must be true or false$/],
  ])('answers 422 for the query %s', async (query, detail) => {
    const res = await call(testEnv(), 'GET', `/api/v1/banking/accounts?${query}`, { token: (await newUser()).token })
    expect(res.status).toBe(422)
    expect(res.body.detail).toMatch(detail)
  })
})

describe('GET /api/v1/banking/accounts?refresh=true with several Items', () => {
  it('stores the balances that did arrive when another Item fails, then reports the failure', async () => {
    const env = testEnv()
    const user = await newUser()
    const first = itemIdOf(await linkItem(env, user, 'ins_109508'))
    const second = itemIdOf(await linkItem(env, user, 'ins_109509'))
    await emulator.requireLogin(env, second)
    await emulator.fault(env, { endpoint: '/accounts/balance/get', kind: 'slow', delay_ms: 500 })
    const before = (await call(env, 'GET', `/api/v1/banking/accounts?item_id=${first}`, { token: user.token })).body
      .accounts as Account[]

    const res = await call(env, 'GET', '/api/v1/banking/accounts?refresh=true', { token: user.token })
    expect(res.status).toBe(400)
    expect(res.body.error_code).toBe('ITEM_LOGIN_REQUIRED')
    const after = (await call(env, 'GET', `/api/v1/banking/accounts?item_id=${first}`, { token: user.token })).body
      .accounts as Account[]
    expect(after.map((a) => a.balances.current)).not.toEqual(before.map((a) => a.balances.current))
  })
})
