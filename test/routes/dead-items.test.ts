import { describe, expect } from 'vitest'
import { api, deliverAndConsume, type ItemRoute, itemOf, WEBHOOK_URL } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import type { TestEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { exchange, itemIdOf } from '../helpers/linking'
import { listAll } from '../helpers/transactions'

/** Fires the webhook at the emulator (as Plaid would), then delivers it through the front door and the queue. */
async function webhookFromPlaid(env: TestEnv, itemId: string, code: string): Promise<void> {
  await emulator.fireWebhook(env, itemId, code)
  for (const delivery of await emulator.webhooks(env)) await deliverAndConsume(env, delivery)
}

/** A signed ITEM/ERROR webhook with `errorCode`, through the front door and the queue. */
async function itemErrorWebhook(env: TestEnv, itemId: string, errorCode: string): Promise<void> {
  const body = JSON.stringify({
    webhook_type: 'ITEM',
    webhook_code: 'ERROR',
    item_id: itemId,
    error: {
      error_type: 'ITEM_ERROR',
      error_code: errorCode,
      error_message: 'the user must act',
      display_message: null,
    },
    environment: 'sandbox',
  })
  const headers = { 'Content-Type': 'application/json', 'Plaid-Verification': await emulator.sign(env, body) }
  await deliverAndConsume(env, { url: WEBHOOK_URL, headers, body })
}

describe('Items Plaid will never serve again', () => {
  it('USER_PERMISSION_REVOKED: permission_revoked; update mode refused with 409; the same login links again (201)', async ({
    linked: { env, user, itemId },
  }) => {
    await webhookFromPlaid(env, itemId, 'USER_PERMISSION_REVOKED')
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'permission_revoked' })

    const calls = await emulator.calls(env)
    const update = await api.linkToken(env, user.token, { body: { item_id: itemId } })
    expect(update.status).toBe(409)
    expect(update.body).toEqual({
      detail: 'this Item can no longer be repaired in Link: remove it and link the bank again',
      item_id: itemId,
      status: 'permission_revoked',
    })
    expect((await emulator.calls(env))['/link/token/create']).toBe(calls['/link/token/create'])

    // The dead Item is no duplicate: the same login (same bank, same accounts) links again.
    const relinked = await exchange(env, user, await emulator.publicToken(env))
    expect(relinked.status).toBe(201)
    expect(itemIdOf(relinked)).not.toBe(itemId)
    // And the dead one is removed as usual: Plaid's ITEM_NOT_FOUND counts as removed.
    expect((await api.removeItem(env, user.token, itemId)).status).toBe(204)
  })

  it.for([
    ['a live balance refresh', (env, token) => api.accounts(env, token, { query: { refresh: true } }), 400],
    ['a sync by hand', api.sync, 400],
    ['a refresh of the Item', api.refresh, 200],
    [
      'a link token for update mode',
      (env, token, itemId) => api.linkToken(env, token, { body: { item_id: itemId } }),
      400,
    ],
  ] as const satisfies readonly [string, ItemRoute, number][])(
    'ITEM_NOT_FOUND from Plaid on %s marks the Item disconnected, and the same login links again',
    async ([_what, request, status], { linked: { env, user, itemId } }) => {
      await emulator.removeAtPlaid(env, itemId)
      const res = await request(env, user.token, itemId)
      expect(res.status).toBe(status)
      expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'disconnected', error_code: 'ITEM_NOT_FOUND' })
      expect((await exchange(env, user, await emulator.publicToken(env))).status).toBe(201)
    },
  )

  it('ITEM_NOT_FOUND during a sync a webhook started marks the Item disconnected', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.changeTransactions(env, itemId, { add: 1, fire_webhook: true })
    const [delivery] = await emulator.webhooks(env)
    await emulator.removeAtPlaid(env, itemId)
    await deliverAndConsume(env, delivery as NonNullable<typeof delivery>)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'disconnected', error_code: 'ITEM_NOT_FOUND' })
  })
})

describe('what else Plaid revokes or asks of the user', () => {
  it("USER_ACCOUNT_REVOKED deletes that account and its transactions, and leaves the Item's others", async ({
    linked: { env, user, itemId },
  }) => {
    const accountsBefore = (await api.accounts(env, user.token)).body.accounts as { account_id: string }[]
    const before = await listAll(env, user)
    await webhookFromPlaid(env, itemId, 'USER_ACCOUNT_REVOKED')
    const revoked = (await emulator.items(env)).find((i) => i.item_id === itemId)
    const gone = accountsBefore.map((a) => a.account_id).find((id) => !revoked?.account_ids.includes(id))
    expect(gone).toBeDefined()
    expect(before.some((t) => t.account_id === gone)).toBe(true)

    const accountsAfter = (await api.accounts(env, user.token)).body.accounts as {
      account_id: string
    }[]
    expect(accountsAfter.map((a) => a.account_id).sort()).toEqual(
      accountsBefore
        .map((a) => a.account_id)
        .filter((id) => id !== gone)
        .sort(),
    )
    const after = await listAll(env, user)
    expect(after.filter((t) => t.account_id === gone)).toEqual([])
    expect(after).toEqual(before.filter((t) => t.account_id !== gone))
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'good' })
  })

  it.for(['ACCESS_NOT_GRANTED', 'NO_ACCOUNTS'])(
    'an ITEM/ERROR webhook with %s sets update_required, which update mode repairs',
    async (code, { linked: { env, user, itemId } }) => {
      await itemErrorWebhook(env, itemId, code)
      expect(await itemOf(env, user, itemId)).toEqual(
        expect.objectContaining({ status: 'update_required', error_code: code }),
      )
      const update = await api.linkToken(env, user.token, { body: { item_id: itemId } })
      expect(update.status).toBe(200)
    },
  )
})

describe('Items that stop working unless the user reconnects', () => {
  it.for([
    ['PENDING_DISCONNECT', 'pending_disconnect', 'disconnect_time'],
    ['PENDING_EXPIRATION', 'pending_expiration', 'consent_expiration_time'],
  ] as const)(
    '%s keeps its deadline on the Item (%s, %s) until the login is repaired',
    async ([code, status, field], { linked: { env, user, itemId } }) => {
      await emulator.fireWebhook(env, itemId, code)
      const [delivery] = await emulator.webhooks(env)
      const sent = JSON.parse(delivery?.body ?? '{}') as Record<string, string>
      expect(sent[field]).toMatch(/^\d{4}-\d{2}-\d{2}T/)
      await deliverAndConsume(env, delivery as NonNullable<typeof delivery>)
      const other = field === 'disconnect_time' ? 'consent_expiration_time' : 'disconnect_time'
      expect(await itemOf(env, user, itemId)).toMatchObject({ status, [field]: sent[field], [other]: null })

      await webhookFromPlaid(env, itemId, 'LOGIN_REPAIRED')
      expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'good', [field]: null })
    },
  )
})
