import { describe, expect } from 'vitest'
import { api, deliverAndConsume } from '../helpers/api'
import { expectedClientUserId } from '../helpers/client-user-id'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { newUser } from '../helpers/linking'
import { rowsIn } from '../helpers/user-store'

describe('update mode', () => {
  it('takes an Item from login_required back to good: link token for the Item, then refresh', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.requireLogin(env, itemId)

    const refreshed = await api.refresh(env, user.token, itemId)
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.item).toMatchObject({ status: 'login_required', error_code: 'ITEM_LOGIN_REQUIRED' })

    const link = await api.linkToken(env, user.token, { body: { item_id: itemId } })
    expect(link.status).toBe(200)
    expect(link.body.link_token).toMatch(/^link-sandbox-/)
    // Plaid was asked for update mode of this Item (its access token, no products), not a new link.
    const issued = (await emulator.linkTokens(env)).find((t) => t.link_token === link.body.link_token)
    expect(issued).toMatchObject({
      link_token: link.body.link_token,
      client_user_id: await expectedClientUserId(env, user.id),
      item_id: itemId,
      products: [],
      account_selection_enabled: false,
    })

    await emulator.repair(env, itemId) // the user finishes Link in update mode
    const repaired = await api.refresh(env, user.token, itemId)
    expect(repaired.status).toBe(200)
    expect(repaired.body.item).toMatchObject({ item_id: itemId, status: 'good', error_code: null })
    expect((repaired.body.accounts as unknown[]).length).toBeGreaterThan(0)
  })

  it('offers account selection for an Item with new accounts, and a refresh answers the offer', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.fireWebhook(env, itemId, 'NEW_ACCOUNTS_AVAILABLE')
    for (const delivery of await emulator.webhooks(env)) await deliverAndConsume(env, delivery)
    const item = async () => (await api.item(env, user.token, itemId)).body.item as Record<string, unknown>
    expect(await item()).toMatchObject({ status: 'good', new_accounts_available: true })

    const link = await api.linkToken(env, user.token, { body: { item_id: itemId, account_selection: true } })
    expect(link.status).toBe(200)
    const issued = (await emulator.linkTokens(env)).find((t) => t.link_token === link.body.link_token)
    expect(issued).toMatchObject({ item_id: itemId, products: [], account_selection_enabled: true })
    expect((await api.refresh(env, user.token, itemId)).status).toBe(200)
    expect(await item()).toMatchObject({ new_accounts_available: false })
  })

  it('a refresh drops the accounts Plaid no longer reports (closed, or deselected in Link)', async ({
    linked: { env, user, itemId },
  }) => {
    const listed = async () =>
      (
        (await api.accounts(env, user.token)).body.accounts as Array<{
          account_id: string
        }>
      )
        .map((a) => a.account_id)
        .sort()
    const reported = (await emulator.items(env))[0]?.account_ids ?? []
    expect(await listed()).toEqual([...reported].sort())
    // An account stored at an earlier read, which Plaid has stopped reporting since.
    await rowsIn(
      user.id,
      `INSERT INTO accounts (account_id, item_id, name, type, balances_updated_at)
       VALUES ('closed-account', ?, 'Old Savings', 'depository', '2024-01-01T00:00:00.000Z')`,
      itemId,
    )
    expect(await listed()).toContain('closed-account')

    expect((await api.refresh(env, user.token, itemId)).status).toBe(200)
    expect(await listed()).toEqual([...reported].sort())
  })

  describe('when Plaid fails the refresh', () => {
    const refresh = (env: TestEnv, token: string, itemId: string) => api.refresh(env, token, itemId)

    it('answers 400 with Plaid error when /item/get fails, and keeps the stored Item as it was', async ({
      linked: { env, user, itemId },
    }) => {
      await emulator.fault(env, {
        endpoint: '/item/get',
        kind: 'plaid_error',
        error_type: 'INVALID_INPUT',
        error_code: 'INVALID_ACCESS_TOKEN',
        error_message: 'provided access token is in an invalid format',
      })
      const res = await refresh(env, user.token, itemId)
      expect(res.status).toBe(400)
      expect(res.body).toMatchObject({
        detail: 'Failed to refresh item: provided access token is in an invalid format',
        error_code: 'INVALID_ACCESS_TOKEN',
      })
      const item = await api.item(env, user.token, itemId)
      expect(item.body.item).toMatchObject({ status: 'good', error_code: null })
    })

    it('answers 500 when /item/get cannot be reached', async ({ linked: { env, user, itemId } }) => {
      await emulator.fault(env, { endpoint: '/item/get', kind: 'disconnect', times: 0 })
      const res = await refresh(env, user.token, itemId)
      expect(res.status).toBe(500)
      expect(res.body).toEqual({ detail: 'Failed to refresh item: could not reach Plaid', retryable: true })
    })

    it('stores login_required when /item/get reports no error but /accounts/get asks for the login', async ({
      linked: { env, user, itemId },
    }) => {
      await emulator.fault(env, {
        endpoint: '/accounts/get',
        kind: 'plaid_error',
        error_type: 'ITEM_ERROR',
        error_code: 'ITEM_LOGIN_REQUIRED',
        error_message: 'the login details of this item have changed',
      })
      const res = await refresh(env, user.token, itemId)
      expect(res.status).toBe(200)
      expect(res.body.item).toMatchObject({ status: 'login_required', error_code: 'ITEM_LOGIN_REQUIRED' })
      expect((res.body.accounts as unknown[]).length).toBeGreaterThan(0)
    })
  })

  it('answers 422 for an account_selection that is not a boolean, without calling Plaid', async () => {
    const env = testEnv()
    const res = await api.linkToken(env, (await newUser()).token, {
      body: { item_id: 'some-item', account_selection: 'yes' },
    })
    expect(res.status).toBe(422)
    expect(res.body).toEqual({ detail: 'invalid body: account_selection: account_selection must be true or false' })
    expect(await emulator.calls(env)).toEqual({})
  })

  it('answers 422 for account_selection without item_id', async () => {
    const res = await api.linkToken(testEnv(), (await newUser()).token, { body: { account_selection: true } })
    expect(res.status).toBe(422)
    expect(res.body).toEqual({ detail: 'invalid body: account_selection needs item_id' })
  })

  it('answers 404 for an item_id the user does not have, without calling Plaid', async () => {
    const env = testEnv()
    const res = await api.linkToken(env, (await newUser()).token, { body: { item_id: 'nope' } })
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ detail: 'item not found' })
    expect(await emulator.calls(env)).toEqual({})
  })

  it('answers 400 when Plaid no longer knows the Item', async ({ linked: { env, user, itemId } }) => {
    await emulator.fault(env, {
      endpoint: '/link/token/create',
      kind: 'plaid_error',
      error_type: 'ITEM_ERROR',
      error_code: 'ITEM_NOT_FOUND',
      error_message: 'the Item you requested cannot be found',
    })
    const res = await api.linkToken(env, user.token, { body: { item_id: itemId } })
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({
      detail: 'Failed to create link token: the Item you requested cannot be found',
      error_code: 'ITEM_NOT_FOUND',
    })
  })

  it.each<[string, { body?: unknown; headers?: Record<string, string> }, number]>([
    ['an item_id that is not a string', { body: { item_id: 7 } }, 422],
    ['an unknown field', { body: { products: ['auth'] } }, 422],
    ['a body that is not JSON', { body: 'nope', headers: { 'Content-Type': 'application/json' } }, 400],
    ['a form body', { body: 'item_id=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }, 415],
  ])('answers %s with %i', async (_, input, status) => {
    const env = testEnv()
    const res = await api.linkToken(env, (await newUser()).token, { ...input })
    expect(res.status).toBe(status)
    expect(Object.keys(res.body)).toEqual(['detail'])
    expect(await emulator.calls(env)).toEqual({})
  })
})
