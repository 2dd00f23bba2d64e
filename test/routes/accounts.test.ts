import { afterEach, describe, expect, vi } from 'vitest'
import { api, type Query } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { itemIdOf, linkItem, newUser } from '../helpers/linking'
import { userStoreOf } from '../helpers/user-store'

type Account = {
  account_id: string
  item_id: string
  balances: { current: number | null; available: number | null }
  balances_updated_at: string
}

/**
 * The accounts an exchange answered, as listed once the Item's first sync ran: the same balances,
 * seen again by that sync (a time of its own).
 */
const seenAgain = (accounts: unknown) =>
  (accounts as Account[]).map((account) => ({ ...account, balances_updated_at: expect.any(String) }))

const listAccounts = async (env: ReturnType<typeof testEnv>, token: string, query?: Query) =>
  (await api.accounts(env, token, { query })).body.accounts as Account[]

afterEach(() => {
  vi.useRealTimers()
})

describe('GET /api/v1/banking/accounts', () => {
  it("lists the user's accounts with balances as last fetched, without calling Plaid", async () => {
    const env = testEnv()
    const user = await newUser()
    const linked = await linkItem(env, user)
    const before = await emulator.calls(env)
    const res = await api.accounts(env, user.token)
    expect(res.status).toBe(200)
    expect(res.body.accounts).toEqual(seenAgain(linked.body.accounts))
    expect(await emulator.calls(env)).toEqual(before)
  })

  it.each(['_=1', '_=1700000000&color=blue'])(
    'ignores query parameters it does not know (%s), such as the cache-busters HTTP clients add',
    async (query) => {
      const env = testEnv()
      const user = await newUser()
      const linked = await linkItem(env, user)
      const res = await api.accounts(env, user.token, { query })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ accounts: seenAgain(linked.body.accounts) })
    },
  )

  it('applies the parameters it knows beside one it does not', async () => {
    const env = testEnv()
    const user = await newUser()
    const a = itemIdOf(await linkItem(env, user, 'ins_109508'))
    await linkItem(env, user, 'ins_109509')
    const res = await api.accounts(env, user.token, { query: { _: 1, item_id: a } })
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
    const res = await api.accounts(env, user.token, { query: { item_id: a } })
    const accounts = res.body.accounts as Account[]
    expect(accounts.length).toBeGreaterThan(0)
    expect(new Set(accounts.map((x) => x.item_id))).toEqual(new Set([a]))
  })

  it('refreshes live balances from Plaid with refresh=true', async () => {
    const env = testEnv()
    const user = await newUser()
    const linked = await linkItem(env, user)
    const res = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(res.status).toBe(200)
    expect((await emulator.calls(env))['/accounts/balance/get']).toBe(1)
    const before = linked.body.accounts as Account[]
    const after = res.body.accounts as Account[]
    expect(after.map((a) => a.account_id)).toEqual(before.map((a) => a.account_id))
    expect(after.map((a) => a.balances.current)).not.toEqual(before.map((a) => a.balances.current))
    // And the refreshed balances are what is stored now.
    expect((await api.accounts(env, user.token)).body.accounts).toEqual(after)
  })

  it('records ITEM_LOGIN_REQUIRED on the Item and answers 400 so the frontend can start update mode', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.requireLogin(env, itemId)
    const res = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(res.status).toBe(400)
    expect(res.body.error_code).toBe('ITEM_LOGIN_REQUIRED')
    expect(res.body.detail).toMatch(/^Failed to list accounts: /)
    const items = await api.items(env, user.token)
    expect(items.body.items).toEqual([
      expect.objectContaining({ item_id: itemId, status: 'login_required', error_code: 'ITEM_LOGIN_REQUIRED' }),
    ])
  })

  it('clears login_required once a balance refresh succeeds after the user repaired the login', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.requireLogin(env, itemId)
    const refresh = () => api.accounts(env, user.token, { query: { refresh: true } })
    vi.useFakeTimers({ toFake: ['Date'] })
    const start = Date.now()
    expect((await refresh()).status).toBe(400)
    await emulator.repair(env, itemId)
    // The next live check of the Item, once its cooldown has passed.
    vi.setSystemTime(start + 12_000)
    const repaired = await refresh()
    expect(repaired.status).toBe(200)
    expect(repaired.body.balances_refresh).toEqual([{ item_id: itemId, outcome: 'refreshed' }])
    const item = await api.item(env, user.token, itemId)
    expect(item.body.item).toMatchObject({ status: 'good', error_code: null })
  })

  it('gives the balance call its own timeout', async () => {
    const env = testEnv({ PLAID_BALANCE_TIMEOUT_MS: '300' })
    const user = await newUser()
    await linkItem(env, user)
    await emulator.fault(env, { endpoint: '/accounts/balance/get', kind: 'slow', delay_ms: 5000 })
    const res = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ detail: 'Failed to list accounts: Plaid did not answer within 300 ms', retryable: true })
  })

  it.each([
    ['refresh=yes', /refresh must be true or false/],
    ['item_id=', /item_id must not be empty/],
    // A cache-buster beside them changes nothing: the known parameter is still checked.
    ['_=1&refresh=yes', /^invalid query: refresh: refresh must be true or false$/],
  ])('answers 422 for the query %s', async (query, detail) => {
    const res = await api.accounts(testEnv(), (await newUser()).token, { query })
    expect(res.status).toBe(422)
    expect(res.body.detail).toMatch(detail)
  })
})

describe('GET /api/v1/banking/accounts?refresh=true with several Items', () => {
  it("answers the balances that did arrive when another Item fails, with that Item's error beside them", async () => {
    const env = testEnv()
    const user = await newUser()
    const first = itemIdOf(await linkItem(env, user, 'ins_109508'))
    const second = itemIdOf(await linkItem(env, user, 'ins_109509'))
    await emulator.requireLogin(env, second)
    const before = await listAccounts(env, user.token, { item_id: first })

    const res = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(res.status).toBe(200)
    expect(res.body.balances_refresh).toEqual([
      { item_id: first, outcome: 'refreshed' },
      {
        item_id: second,
        outcome: 'failed',
        http_status: 400,
        error: expect.objectContaining({
          detail: expect.stringMatching(/^Failed to list accounts: /),
          error_code: 'ITEM_LOGIN_REQUIRED',
          retryable: false,
        }),
      },
    ])
    const answered = res.body.accounts as Account[]
    const firstNow = answered.filter((a) => a.item_id === first)
    expect(firstNow.map((a) => a.balances.current)).not.toEqual(before.map((a) => a.balances.current))
    // The failed Item's accounts are listed too, with the balances last seen.
    expect(answered.some((a) => a.item_id === second)).toBe(true)
    expect(await listAccounts(env, user.token)).toEqual(answered)
  })
})

describe('balances that follow the syncs', () => {
  it('keeps the balances each /transactions/sync page carries, with when they were seen, at no extra Plaid call', async ({
    linked: { env, user, itemId },
  }) => {
    const before = await listAccounts(env, user.token)
    // Plaid pulls new activity from the bank, and with it new balances.
    await emulator.changeTransactions(env, itemId, { add: 2 })
    expect((await api.sync(env, user.token, itemId)).status).toBe(200)

    const after = await listAccounts(env, user.token)
    const checking = (accounts: Account[]) => accounts.find((a) => a.balances.available !== null) as Account
    expect(checking(after).balances.current).not.toBe(checking(before).balances.current)
    expect(Date.parse(checking(after).balances_updated_at)).toBeGreaterThan(
      Date.parse(checking(before).balances_updated_at),
    )
    expect((await emulator.calls(env))['/accounts/balance/get']).toBeUndefined()
  })
})

describe('balances from a sync page and from a live check', () => {
  it('keeps the later reading: a page seen before a live check does not overwrite it, one seen after does', async ({
    linked: { env, user, itemId },
  }) => {
    await api.accounts(env, user.token, { query: { refresh: true } })
    const live = await listAccounts(env, user.token)
    const checkedAt = Date.parse((live[0] as Account).balances_updated_at)
    const page = (current: number, seenAt: number) => ({
      added: [],
      modified: [],
      removedIds: [],
      accounts: live.map((a) => ({
        account_id: a.account_id,
        name: 'n',
        mask: null,
        official_name: null,
        type: 'depository',
        subtype: null,
        balances: {
          available: current,
          current,
          limit: null,
          iso_currency_code: 'USD',
          unofficial_currency_code: null,
        },
      })),
      seenAt: new Date(seenAt).toISOString(),
    })
    const store = userStoreOf(user.id)
    const run = await store.beginSync(user.id, itemId)
    if (!run) throw new Error('the Item is stored')
    await store.stageSyncPage(user.id, run.syncId, page(1, checkedAt - 1_000))
    expect(await listAccounts(env, user.token)).toEqual(live)
    await store.stageSyncPage(user.id, run.syncId, page(2, checkedAt + 1_000))
    expect((await listAccounts(env, user.token)).map((a) => a.balances.current)).toEqual(live.map(() => 2))
    await store.dropSync(user.id, run.syncId)
  })
})

describe('GET /api/v1/banking/accounts?refresh=true, per Item at most once every 12 s (Plaid allows 5 per minute)', () => {
  it('answers the balances of a check made moments ago instead of calling Plaid again, and says when to retry', async ({
    linked: { env, user, itemId },
  }) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const start = Date.now()
    vi.setSystemTime(start)
    const first = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(first.body.balances_refresh).toEqual([{ item_id: itemId, outcome: 'refreshed' }])

    vi.setSystemTime(start + 11_500)
    const again = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(again.status).toBe(200)
    expect(again.body.balances_refresh).toEqual([{ item_id: itemId, outcome: 'cooling_down', retry_after_seconds: 1 }])
    expect(again.body.accounts).toEqual(first.body.accounts)
    expect((await emulator.calls(env))['/accounts/balance/get']).toBe(1)

    vi.setSystemTime(start + 12_000)
    const later = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(later.body.balances_refresh).toEqual([{ item_id: itemId, outcome: 'refreshed' }])
    expect((await emulator.calls(env))['/accounts/balance/get']).toBe(2)
  })

  it('lets concurrent refreshes of one Item reach Plaid once', async () => {
    const env = testEnv()
    const user = await newUser()
    await linkItem(env, user)
    const answers = await Promise.all([1, 2, 3].map(() => api.accounts(env, user.token, { query: { refresh: true } })))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
    const outcomes = answers.map((a) => (a.body.balances_refresh as { outcome: string }[])[0]?.outcome).sort()
    expect(outcomes).toEqual(['cooling_down', 'cooling_down', 'refreshed'])
    expect((await emulator.calls(env))['/accounts/balance/get']).toBe(1)
  })

  it('cools each Item down on its own', async () => {
    const env = testEnv()
    const user = await newUser()
    const a = itemIdOf(await linkItem(env, user, 'ins_109508'))
    const b = itemIdOf(await linkItem(env, user, 'ins_109509'))
    await api.accounts(env, user.token, { query: { refresh: true, item_id: a } })
    const res = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(res.body.balances_refresh).toEqual([
      { item_id: a, outcome: 'cooling_down', retry_after_seconds: expect.any(Number) },
      { item_id: b, outcome: 'refreshed' },
    ])
  })
})
