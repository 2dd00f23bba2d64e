import { describe, expect } from 'vitest'
import { api, call } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { itemIdOf, linkItem, linkItemBeforeFirstSync, newUser } from '../helpers/linking'
import { captureLogs } from '../helpers/logs'
import { failingUserStore } from '../helpers/user-store'

describe('items', () => {
  it('lists no Items for a new user', async () => {
    const res = await api.items(testEnv(), (await newUser()).token)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ items: [] })
  })

  it("lists the user's Items with their status, without tokens", async () => {
    const env = testEnv()
    const user = await newUser()
    const a = await linkItem(env, user, 'ins_109508')
    const b = await linkItem(env, user, 'ins_109509')
    const res = await api.items(env, user.token)
    expect(res.status).toBe(200)
    const items = res.body.items as Array<Record<string, unknown>>
    expect(items.map((i) => i.item_id).sort()).toEqual([itemIdOf(a), itemIdOf(b)].sort())
    expect(Object.keys(items[0] as object).sort()).toEqual([
      'consent_expiration_time',
      'created_at',
      'disconnect_time',
      'error_code',
      'institution_id',
      'institution_name',
      'item_id',
      'new_accounts_available',
      'status',
      'transactions_synced_at',
      'updated_at',
    ])
    expect(res.text).not.toMatch(/access-sandbox-|sealed/)
  })

  it("lists the user's Items in the order they were linked", async () => {
    const env = testEnv()
    const user = await newUser()
    const linked: string[] = []
    for (const institution of ['ins_109508', 'ins_109509', 'ins_109510', 'ins_109511', 'ins_109512']) {
      linked.push(await linkItemBeforeFirstSync(env, user, institution))
    }
    const res = await api.items(env, user.token)
    expect((res.body.items as Array<{ item_id: string }>).map((i) => i.item_id)).toEqual(linked)
  })

  it('ignores a cache-buster in the query when listing Items or getting one', async ({
    linked: { env, user, itemId },
  }) => {
    const listed = await api.items(env, user.token, { query: { _: 1700000000 } })
    expect(listed.status).toBe(200)
    expect((listed.body.items as { item_id: string }[]).map((i) => i.item_id)).toEqual([itemId])
    const one = await api.item(env, user.token, itemId, { query: { _: 1 } })
    expect(one.status).toBe(200)
    expect(one.body.item).toMatchObject({ item_id: itemId })
  })

  it('gets one Item by id', async ({ linked: { env, user, itemId } }) => {
    const res = await api.item(env, user.token, itemId)
    expect(res.status).toBe(200)
    expect(res.body.item).toMatchObject({ item_id: itemId, status: 'good' })
  })

  describe('DELETE /api/v1/banking/items/{item_id}', () => {
    it('removes the Item at Plaid and deletes it with its accounts (204)', async ({
      linked: { env, user, itemId },
    }) => {
      const res = await api.removeItem(env, user.token, itemId)
      expect(res.status).toBe(204)
      expect(res.text).toBe('')
      expect((await emulator.items(env))[0]).toMatchObject({ item_id: itemId, removed: true })
      expect((await api.items(env, user.token)).body).toEqual({ items: [] })
      expect((await api.accounts(env, user.token)).body).toEqual({ accounts: [] })
      expect((await api.removeItem(env, user.token, itemId)).status).toBe(404)
    })

    // Plaid's answers for an Item it removed, and for an access token it does not know.
    it.for([
      ['ITEM_ERROR', 'ITEM_NOT_FOUND', 'the Item you requested cannot be found'],
      ['INVALID_INPUT', 'INVALID_ACCESS_TOKEN', 'could not find matching access token'],
    ] as const)(
      'still deletes locally when Plaid answers %s %s',
      async ([errorType, errorCode, errorMessage], { linked: { env, user, itemId } }) => {
        await emulator.fault(env, {
          endpoint: '/item/remove',
          kind: 'plaid_error',
          error_type: errorType,
          error_code: errorCode,
          error_message: errorMessage,
        })
        const { result: res, logs } = await captureLogs(() => api.removeItem(env, user.token, itemId))
        expect(res.status).toBe(204)
        expect((await api.items(env, user.token)).body).toEqual({ items: [] })
        expect(logs).toContain('item already gone at Plaid; removing the local copy')
        expect(logs).toContain(errorCode)
        // Nothing is left that would block linking the same login again.
        expect((await linkItem(env, user)).status).toBe(201)
      },
    )

    it('still deletes locally when the Item was already removed at Plaid by other means', async ({
      linked: { env, user, itemId },
    }) => {
      await emulator.removeAtPlaid(env, itemId)
      const res = await api.removeItem(env, user.token, itemId)
      expect(res.status).toBe(204)
      expect((await api.items(env, user.token)).body).toEqual({ items: [] })
      expect(await emulator.calls(env)).toMatchObject({ '/item/remove': 1 })
    })

    it('answers 500 and keeps the Item when the local delete fails after Plaid removed it; a retry finishes', async ({
      linked: { env, user, itemId },
    }) => {
      const failingStore = failingUserStore(['deleteItem'])
      const failed = await api.removeItem({ ...env, USER_STORE: failingStore }, user.token, itemId)
      expect(failed.status).toBe(500)
      expect(failed.body).toEqual({ detail: 'Failed to remove item: internal error' })
      expect((await emulator.items(env))[0]).toMatchObject({ item_id: itemId, removed: true })
      const listed = await api.items(env, user.token)
      expect(listed.body.items).toEqual([expect.objectContaining({ item_id: itemId })])

      // Plaid now answers ITEM_NOT_FOUND, which the retry takes as "already removed".
      const retried = await api.removeItem(env, user.token, itemId)
      expect(retried.status).toBe(204)
      expect((await api.items(env, user.token)).body).toEqual({ items: [] })
    })

    it('keeps the Item when Plaid fails the removal, so it can be retried', async ({
      linked: { env, user, itemId },
    }) => {
      await emulator.fault(env, {
        endpoint: '/item/remove',
        kind: 'plaid_error',
        status: 500,
        error_type: 'API_ERROR',
        error_code: 'INTERNAL_SERVER_ERROR',
        error_message: 'an unexpected error occurred',
      })
      const res = await api.removeItem(env, user.token, itemId)
      expect(res.status).toBe(400)
      expect(res.body.detail).toBe('Failed to remove item: an unexpected error occurred')
      expect(((await api.items(env, user.token)).body.items as unknown[]).length).toBe(1)
      expect((await api.removeItem(env, user.token, itemId)).status).toBe(204)
    })

    it('answers 500 and keeps the Item when Plaid cannot be reached', async ({ linked: { env, user, itemId } }) => {
      const res = await api.removeItem({ ...env, PLAID_BASE_URL: 'http://unreachable.test' }, user.token, itemId)
      expect(res.status).toBe(500)
      expect(res.body).toEqual({ detail: 'Failed to remove item: could not reach Plaid', retryable: true })
      expect(((await api.items(env, user.token)).body.items as unknown[]).length).toBe(1)
    })
  })

  it.each([
    ['GET', ''],
    ['DELETE', ''],
    ['POST', '/refresh'],
    ['POST', '/sync'],
  ])(
    'answers 422 to %s of an item_id%s with characters Plaid never uses, without calling Plaid',
    async (method, suffix) => {
      const env = testEnv()
      const res = await call(env, method, `/api/v1/banking/items/abc'%20OR%201=1${suffix}`, {
        token: (await newUser()).token,
      })
      expect(res.status).toBe(422)
      expect(res.body).toEqual({ detail: 'invalid item_id: item_id has characters Plaid ids never contain' })
      expect(await emulator.calls(env)).toEqual({})
    },
  )
})
