import { describe, expect, it } from 'vitest'
import { EMULATOR_URL, linkedItem, newClientId, plaid, plaidError, WEBHOOK_URL } from './plaid'
import { type Delivery, outbox, verify } from './webhooks'

async function calls(clientId: string): Promise<Record<string, number>> {
  const response = await fetch(`${EMULATOR_URL}/emulator/calls`, { headers: { 'PLAID-CLIENT-ID': clientId } })
  return response.json()
}

describe("/sandbox/item/fire_webhook (Plaid's Sandbox endpoint)", () => {
  it.each([
    ['SYNC_UPDATES_AVAILABLE', 'TRANSACTIONS'],
    ['NEW_ACCOUNTS_AVAILABLE', 'ITEM'],
    ['LOGIN_REPAIRED', 'ITEM'],
  ])('sends a signed %s webhook (%s) to the Item’s webhook URL', async (code, type) => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    // SYNC_UPDATES_AVAILABLE needs a first /transactions/sync (pinned below); the others do not care.
    expect((await plaid(clientId, '/transactions/sync', { access_token: accessToken })).status).toBe(200)
    const answer = await plaid(clientId, '/sandbox/item/fire_webhook', {
      access_token: accessToken,
      webhook_code: code,
    })
    expect(answer).toEqual({ status: 200, body: { webhook_fired: true, request_id: expect.any(String) } })

    const sent = await outbox(clientId)
    expect(sent).toHaveLength(1)
    const [delivery] = sent as [Delivery]
    expect(delivery.url).toBe(WEBHOOK_URL)
    expect(delivery.headers['Content-Type']).toBe('application/json')
    expect(JSON.parse(delivery.body)).toMatchObject({
      webhook_type: type,
      webhook_code: code,
      item_id: itemId,
      environment: 'sandbox',
    })
    await verify(clientId, delivery)
    // Answered through the wrapper every Plaid path shares, which records the exchange for the
    // contract check (and scripts/check-contract.ts fails a run in which this path never appears).
    expect(await calls(clientId)).toMatchObject({ '/sandbox/item/fire_webhook': 1 })
  })

  it('does not fire SYNC_UPDATES_AVAILABLE for an Item on which /transactions/sync was never called', async () => {
    const clientId = newClientId()
    const { accessToken } = await linkedItem(clientId)
    const fire = () =>
      plaid(clientId, '/sandbox/item/fire_webhook', {
        access_token: accessToken,
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
      })
    // Plaid: "to receive this webhook for an Item, /transactions/sync must have been called at least once".
    expect(await fire()).toEqual({ status: 200, body: { webhook_fired: false, request_id: expect.any(String) } })
    expect(await outbox(clientId)).toEqual([])

    expect((await plaid(clientId, '/transactions/sync', { access_token: accessToken })).status).toBe(200)
    expect(await fire()).toEqual({ status: 200, body: { webhook_fired: true, request_id: expect.any(String) } })
    expect((await outbox(clientId)).map((d) => JSON.parse(d.body).webhook_code)).toEqual(['SYNC_UPDATES_AVAILABLE'])
  })

  it('announces new transactions at the bank only on Items synced at least once', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    const change = async () => {
      const response = await fetch(`${EMULATOR_URL}/emulator/items/${itemId}/transactions`, {
        method: 'POST',
        headers: { 'PLAID-CLIENT-ID': clientId },
        body: JSON.stringify({ add: 2, fire_webhook: true }),
      })
      return ((await response.json()) as { webhook_fired: boolean }).webhook_fired
    }
    expect(await change()).toBe(false)
    expect(await outbox(clientId)).toEqual([])
    expect((await plaid(clientId, '/transactions/sync', { access_token: accessToken })).status).toBe(200)
    expect(await change()).toBe(true)
    expect(await outbox(clientId)).toHaveLength(1)
  })

  it.each([
    [
      'an Item without a webhook URL',
      { webhook: null },
      'SYNC_UPDATES_AVAILABLE',
      plaidError(
        400,
        'SANDBOX_ERROR',
        'SANDBOX_WEBHOOK_INVALID',
        "Webhook for this item is either not set up, or invalid. Please update the item's webhook and try again.",
      ),
    ],
    [
      'a product the Item lacks',
      { products: ['auth'] },
      'SYNC_UPDATES_AVAILABLE',
      plaidError(
        400,
        'SANDBOX_ERROR',
        'SANDBOX_PRODUCT_NOT_ENABLED',
        'The transactions product is not enabled on this item',
      ),
    ],
  ])('refuses %s and sends nothing', async (_name, item, code, expected) => {
    const clientId = newClientId()
    const { accessToken } = await linkedItem(clientId, item)
    expect(
      await plaid(clientId, '/sandbox/item/fire_webhook', { access_token: accessToken, webhook_code: code }),
    ).toEqual(expected)
    expect(await outbox(clientId)).toEqual([])
  })
})

describe('revocations fired through the control API, as Plaid runs them', () => {
  const fire = (clientId: string, itemId: string, code: string) =>
    fetch(`${EMULATOR_URL}/emulator/items/${itemId}/fire-webhook`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': clientId },
      body: JSON.stringify({ webhook_code: code }),
    })

  it('USER_PERMISSION_REVOKED: the signed webhook goes out, then Plaid answers ITEM_NOT_FOUND for the Item', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    expect((await fire(clientId, itemId, 'USER_PERMISSION_REVOKED')).status).toBe(200)
    const [delivery] = await outbox(clientId)
    expect(JSON.parse(delivery?.body ?? '{}')).toMatchObject({
      webhook_type: 'ITEM',
      webhook_code: 'USER_PERMISSION_REVOKED',
      item_id: itemId,
      error: { error_code: 'USER_PERMISSION_REVOKED' },
    })
    await verify(clientId, delivery as Delivery)
    for (const path of ['/accounts/get', '/item/get', '/transactions/sync']) {
      expect(await plaid(clientId, path, { access_token: accessToken }), path).toMatchObject({
        status: 400,
        body: { error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND' },
      })
    }
  })

  it('USER_ACCOUNT_REVOKED: the webhook names the account, which the Item no longer reports', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    const before = (await plaid(clientId, '/accounts/get', { access_token: accessToken })).body.accounts as {
      account_id: string
    }[]
    expect((await fire(clientId, itemId, 'USER_ACCOUNT_REVOKED')).status).toBe(200)
    const [delivery] = await outbox(clientId)
    const body = JSON.parse(delivery?.body ?? '{}') as { account_id: string }
    expect(body).toMatchObject({ webhook_type: 'ITEM', webhook_code: 'USER_ACCOUNT_REVOKED', item_id: itemId })
    expect(body.account_id).toBe(before[0]?.account_id)
    await verify(clientId, delivery as Delivery)
    const after = (await plaid(clientId, '/accounts/get', { access_token: accessToken })).body.accounts as {
      account_id: string
    }[]
    expect(after.map((a) => a.account_id)).toEqual(before.slice(1).map((a) => a.account_id))
  })
})
