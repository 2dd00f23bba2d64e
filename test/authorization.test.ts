import { describe, expect, it } from 'vitest'
import { api, call } from './helpers/api'
import { emulator } from './helpers/emulator'
import { runQueue, testEnv } from './helpers/env'
import { exchange, itemIdOf, linkItem, linkItemBeforeFirstSync, newUser } from './helpers/linking'
import { rowIn, rowsIn } from './helpers/user-store'

describe("a user cannot see or change another user's Items", () => {
  it('answers 404 for every route that names the Item, exactly as for a missing one, and changes nothing', async () => {
    const env = testEnv()
    const alice = await newUser()
    const mallory = await newUser()
    const itemId = itemIdOf(await linkItem(env, alice))
    const callsBefore = await emulator.calls(env)

    const attempts = [
      api.item(env, mallory.token, itemId),
      api.removeItem(env, mallory.token, itemId),
      api.refresh(env, mallory.token, itemId),
      api.sync(env, mallory.token, itemId),
      api.transactions(env, mallory.token, { query: { item_id: itemId } }),
      api.accounts(env, mallory.token, { query: { item_id: itemId } }),
      api.accounts(env, mallory.token, { query: { item_id: itemId, refresh: true } }),
      api.linkToken(env, mallory.token, { body: { item_id: itemId } }),
    ]
    const missing = await call(env, 'GET', '/api/v1/banking/items/no-such-item', { token: mallory.token })
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404)
      expect(res.body).toEqual(missing.body)
    }
    expect(await emulator.calls(env)).toEqual(callsBefore)

    expect((await api.items(env, mallory.token)).body).toEqual({ items: [] })
    expect((await api.accounts(env, mallory.token)).body).toEqual({
      accounts: [],
    })
    const mine = await api.items(env, alice.token)
    expect(mine.body.items).toEqual([expect.objectContaining({ item_id: itemId, status: 'good' })])
  })

  it('cannot open a sealed access token moved into another row', async () => {
    const env = testEnv()
    const alice = await newUser()
    const mallory = await newUser()
    const aliceItem = itemIdOf(await linkItem(env, alice, 'ins_109508'))
    const malloryItem = itemIdOf(await linkItem(env, mallory, 'ins_109509'))
    // An attacker with write access to the storage copies Alice's sealed token into their row.
    const alices = await rowIn<{ access_token_sealed: string; access_token_key_id: string }>(
      alice.id,
      'SELECT access_token_sealed, access_token_key_id FROM items WHERE item_id = ?',
      aliceItem,
    )
    await rowsIn(
      mallory.id,
      'UPDATE items SET access_token_sealed = ?, access_token_key_id = ? WHERE item_id = ?',
      alices?.access_token_sealed,
      alices?.access_token_key_id,
      malloryItem,
    )
    const res = await api.refresh(env, mallory.token, malloryItem)
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ detail: 'Failed to refresh item: a stored access token failed its integrity check' })
  })
})

/** An Item stored directly in the user's object (no Plaid Item behind it): a row ids may collide with. */
async function storedItem(userId: string): Promise<string> {
  const itemId = `stored-item-${crypto.randomUUID()}`
  const now = new Date().toISOString()
  await rowsIn(
    userId,
    `INSERT INTO items (item_id, status, access_token_sealed, access_token_key_id, created_at, updated_at)
     VALUES (?, 'good', 'sealed', 'k', ?, ?)`,
    itemId,
    now,
    now,
  )
  return itemId
}

describe("an id that collides with another user's row never overwrites it", () => {
  /** Another user's Item, stored directly in their object: the row a colliding id must not reach. */
  async function othersItem() {
    const userId = `other-${crypto.randomUUID()}`
    return { userId, itemId: await storedItem(userId) }
  }

  it('keeps the other user’s account when a linked account has its account_id', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const [pending] = await emulator.items(env)
    const collidingId = (pending as unknown as { account_ids: string[] }).account_ids[0] as string
    const other = await othersItem()
    await rowsIn(
      other.userId,
      `INSERT INTO accounts (account_id, item_id, name, type, balance_current, balances_updated_at)
       VALUES (?, ?, 'Other Checking', 'depository', 42, '2026-01-01T00:00:00Z')`,
      collidingId,
      other.itemId,
    )

    expect((await exchange(env, user, publicToken)).status).toBe(201)
    const row = await rowIn(other.userId, 'SELECT * FROM accounts WHERE account_id = ?', collidingId)
    expect(row).toMatchObject({
      item_id: other.itemId,
      name: 'Other Checking',
      balance_current: 42,
    })
  })

  it('keeps the other user’s transaction when a synced transaction has its transaction_id', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    const [colliding] = await emulator.liveTransactions(env, itemId)
    if (!colliding) throw new Error('the Sandbox Item has no transactions')
    const other = await othersItem()
    await rowsIn(
      other.userId,
      `INSERT INTO transactions (transaction_id, item_id, account_id, amount, date, pending, updated_at)
       VALUES (?, ?, 'other-account', 12345, '2020-01-01', 0, '2026-01-01T00:00:00Z')`,
      colliding.transaction_id,
      other.itemId,
    )

    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(200)
    const row = await rowIn(
      other.userId,
      'SELECT * FROM transactions WHERE transaction_id = ?',
      colliding.transaction_id,
    )
    expect(row).toMatchObject({ item_id: other.itemId, amount: 12345, date: '2020-01-01' })
    expect(await runQueue(env)).toEqual({ ran: [], retried: [] })
  })
})

describe("an id that collides with a row of the user's other Item never moves or overwrites it", () => {
  it('keeps the account under its own Item when a newly linked account has its account_id', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const [pending] = await emulator.items(env)
    const collidingId = (pending as unknown as { account_ids: string[] }).account_ids[0] as string
    const otherItem = await storedItem(user.id)
    await rowsIn(
      user.id,
      `INSERT INTO accounts (account_id, item_id, name, type, balance_current, balances_updated_at)
       VALUES (?, ?, 'Other Checking', 'depository', 42, '2026-01-01T00:00:00Z')`,
      collidingId,
      otherItem,
    )

    expect((await exchange(env, user, publicToken)).status).toBe(201)
    const row = await rowIn(user.id, 'SELECT * FROM accounts WHERE account_id = ?', collidingId)
    expect(row).toMatchObject({ item_id: otherItem, name: 'Other Checking', balance_current: 42 })
  })

  it('keeps the transaction under its own Item when a synced transaction has its transaction_id', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = await linkItemBeforeFirstSync(env, user)
    const [colliding] = await emulator.liveTransactions(env, itemId)
    if (!colliding) throw new Error('the Sandbox Item has no transactions')
    const otherItem = await storedItem(user.id)
    await rowsIn(
      user.id,
      `INSERT INTO transactions (transaction_id, item_id, account_id, amount, date, pending, updated_at)
       VALUES (?, ?, 'other-account', 12345, '2020-01-01', 0, '2026-01-01T00:00:00Z')`,
      colliding.transaction_id,
      otherItem,
    )

    expect((await api.sync(env, user.token, itemId)).status).toBe(200)
    const row = await rowIn(user.id, 'SELECT * FROM transactions WHERE transaction_id = ?', colliding.transaction_id)
    expect(row).toMatchObject({ item_id: otherItem, amount: 12345, date: '2020-01-01' })
  })
})
