import { describe, expect, it } from 'vitest'
import { EMULATOR_URL, emulatorWithClock, linkedItem, newClientId, plaid, plaidError } from './plaid'

const balanceLimit = plaidError(
  429,
  'RATE_LIMIT_EXCEEDED',
  'BALANCE_LIMIT',
  'rate limit exceeded for attempts to access this item. please try again later',
)

describe('/accounts/balance/get, limited as in Production: 5 calls per Item per minute', () => {
  it('refuses the sixth call within a minute with BALANCE_LIMIT, for that Item only, until the minute has passed', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z')
    const own = await emulatorWithClock(() => now)
    const clientId = newClientId()
    const via = { via: own.fetch }
    const link = async () => {
      const created = await plaid(
        clientId,
        '/sandbox/public_token/create',
        { institution_id: 'ins_109508', initial_products: ['transactions'] },
        via,
      )
      const exchanged = await plaid(
        clientId,
        '/item/public_token/exchange',
        { public_token: created.body.public_token },
        via,
      )
      return exchanged.body.access_token as string
    }
    const [busy, other] = [await link(), await link()]
    const balance = (accessToken: string) =>
      plaid(clientId, '/accounts/balance/get', { access_token: accessToken }, via)
    for (let call = 0; call < 5; call++) {
      now += 1_000
      expect((await balance(busy)).status).toBe(200)
    }
    expect(await balance(busy)).toEqual(balanceLimit)
    expect((await balance(other)).status).toBe(200)
    // The first of the five calls leaves the window 60 s after it was made.
    now += 55_999
    expect(await balance(busy)).toEqual(balanceLimit)
    now += 2
    expect((await balance(busy)).status).toBe(200)
  })
})

describe('accounts in /transactions/sync pages', () => {
  it("carries the Item's accounts with balances on every page, and new balances once Plaid pulled new activity", async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    const first = await plaid(clientId, '/transactions/sync', { access_token: accessToken, count: 500 })
    expect(first.status).toBe(200)
    type Page = { account_id: string; balances: { current: number | null; available: number | null } }
    const before = first.body.accounts as Page[]
    const cached = (await plaid(clientId, '/accounts/get', { access_token: accessToken })).body.accounts as Page[]
    expect(before.length).toBeGreaterThan(0)
    for (const account of before) {
      expect(account.balances).toEqual(cached.find((a) => a.account_id === account.account_id)?.balances)
    }

    const changed = await fetch(`${EMULATOR_URL}/emulator/items/${itemId}/transactions`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': clientId },
      body: JSON.stringify({ add: 1 }),
    })
    expect(changed.status).toBe(200)
    const next = await plaid(clientId, '/transactions/sync', {
      access_token: accessToken,
      cursor: first.body.next_cursor,
      count: 500,
    })
    const after = next.body.accounts as Page[]
    const checking = (pages: Page[]) => pages.find((a) => a.balances.available !== null) as Page
    expect(checking(after).balances.current).not.toBe(checking(before).balances.current)
  })
})
