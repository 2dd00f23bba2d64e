import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { itemIdOf, linkItem, newUser } from './helpers/linking'
import { call, emulator, testEnv } from './helpers/worker'

describe("a user cannot see or change another user's Items", () => {
  it('answers 404 for every route that names the Item, exactly as for a missing one, and changes nothing', async () => {
    const env = testEnv()
    const alice = await newUser()
    const mallory = await newUser()
    const itemId = itemIdOf(await linkItem(env, alice))
    const callsBefore = await emulator.calls(env)

    const attempts = [
      call(env, 'GET', `/api/v1/banking/items/${itemId}`, { token: mallory.token }),
      call(env, 'DELETE', `/api/v1/banking/items/${itemId}`, { token: mallory.token }),
      call(env, 'POST', `/api/v1/banking/items/${itemId}/refresh`, { token: mallory.token }),
      call(env, 'POST', `/api/v1/banking/items/${itemId}/sync`, { token: mallory.token }),
      call(env, 'GET', `/api/v1/banking/transactions?item_id=${itemId}`, { token: mallory.token }),
      call(env, 'GET', `/api/v1/banking/accounts?item_id=${itemId}`, { token: mallory.token }),
      call(env, 'GET', `/api/v1/banking/accounts?item_id=${itemId}&refresh=true`, { token: mallory.token }),
      call(env, 'POST', '/api/v1/banking/link-token', { token: mallory.token, body: { item_id: itemId } }),
    ]
    const missing = await call(env, 'GET', '/api/v1/banking/items/no-such-item', { token: mallory.token })
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404)
      expect(res.body).toEqual(missing.body)
    }
    expect(await emulator.calls(env)).toEqual(callsBefore)

    expect((await call(env, 'GET', '/api/v1/banking/items', { token: mallory.token })).body).toEqual({ items: [] })
    expect((await call(env, 'GET', '/api/v1/banking/accounts', { token: mallory.token })).body).toEqual({
      accounts: [],
    })
    const mine = await call(env, 'GET', '/api/v1/banking/items', { token: alice.token })
    expect(mine.body.items).toEqual([expect.objectContaining({ item_id: itemId, status: 'good' })])
  })

  it('cannot open a sealed access token moved into another row', async () => {
    const env = testEnv()
    const alice = await newUser()
    const mallory = await newUser()
    const aliceItem = itemIdOf(await linkItem(env, alice, 'ins_109508'))
    const malloryItem = itemIdOf(await linkItem(env, mallory, 'ins_109509'))
    const db = baseEnv.DB as D1Database
    // An attacker with write access to the database copies Alice's sealed token into their row.
    await db
      .prepare(
        `UPDATE items SET (access_token_sealed, access_token_key_id) =
           (SELECT access_token_sealed, access_token_key_id FROM items WHERE item_id = ?) WHERE item_id = ?`,
      )
      .bind(aliceItem, malloryItem)
      .run()
    const res = await call(env, 'POST', `/api/v1/banking/items/${malloryItem}/refresh`, { token: mallory.token })
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ detail: 'Failed to refresh item: a stored access token failed its integrity check' })
  })
})
