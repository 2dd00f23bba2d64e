import { describe, expect, it } from 'vitest'
import { linkedItem, newClientId, plaid, plaidError, removeItem, WEBHOOK_URL } from './plaid'
import { type Delivery, outbox, verify } from './webhooks'

const NEW_URL = 'https://new-host.example.com/api/v1/banking/webhooks'

const update = (clientId: string, body: Record<string, unknown>, malformed?: string) =>
  plaid(clientId, '/item/webhook/update', body, { malformed })

const itemGet = async (clientId: string, accessToken: string) =>
  (await plaid(clientId, '/item/get', { access_token: accessToken })).body.item as Record<string, unknown>

describe("/item/webhook/update (Plaid's endpoint for an Item's webhook URL)", () => {
  it('moves the Item to the new URL, answers the Item, and acknowledges with a signed webhook sent to the new URL', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)

    const answer = await update(clientId, { access_token: accessToken, webhook: NEW_URL })
    expect(answer).toEqual({
      status: 200,
      body: {
        item: expect.objectContaining({ item_id: itemId, webhook: NEW_URL, error: null }),
        request_id: expect.stringMatching(/^[A-Za-z0-9]{15}$/),
      },
    })
    expect(await itemGet(clientId, accessToken)).toMatchObject({ item_id: itemId, webhook: NEW_URL })

    const sent = await outbox(clientId)
    expect(sent).toHaveLength(1)
    const [delivery] = sent as [Delivery]
    expect(delivery.url).toBe(NEW_URL)
    // The spec's WebhookUpdateAcknowledgedWebhook.
    expect(JSON.parse(delivery.body)).toEqual({
      webhook_type: 'ITEM',
      webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED',
      item_id: itemId,
      error: null,
      new_webhook_url: NEW_URL,
      environment: 'sandbox',
    })
    await verify(clientId, delivery)
  })

  it('gives a webhook URL to an Item linked without one', async () => {
    const clientId = newClientId()
    const { accessToken } = await linkedItem(clientId, { webhook: null })
    expect(await itemGet(clientId, accessToken)).toMatchObject({ webhook: null })

    expect((await update(clientId, { access_token: accessToken, webhook: WEBHOOK_URL })).status).toBe(200)
    expect(await itemGet(clientId, accessToken)).toMatchObject({ webhook: WEBHOOK_URL })
    expect((await outbox(clientId)).map((d) => [d.url, JSON.parse(d.body).new_webhook_url])).toEqual([
      [WEBHOOK_URL, WEBHOOK_URL],
    ])
  })

  it('removes the webhook when sent null, and has nowhere to send an acknowledgement', async () => {
    const clientId = newClientId()
    const { accessToken } = await linkedItem(clientId)

    const answer = await update(clientId, { access_token: accessToken, webhook: null })
    expect(answer).toMatchObject({ status: 200, body: { item: { webhook: null } } })
    expect(await itemGet(clientId, accessToken)).toMatchObject({ webhook: null })
    expect(await outbox(clientId)).toEqual([])
    // Without a URL, the Sandbox cannot fire webhooks for the Item any more.
    const fired = await plaid(clientId, '/sandbox/item/fire_webhook', {
      access_token: accessToken,
      webhook_code: 'NEW_ACCOUNTS_AVAILABLE',
    })
    expect(fired).toMatchObject({ status: 400, body: { error_code: 'SANDBOX_WEBHOOK_INVALID' } })
  })

  // The spec's `format: url` refuses the first and last; an ftp URL meets it, but nothing can
  // POST a webhook to it, so the emulator refuses it as it does for every webhook field (and the
  // request is not marked as breaking the spec).
  it.each([
    ['not a URL', 'api.example.com/webhooks', 'webhook must be a valid URL', 'invalid webhook URL'],
    ['another scheme than http(s)', 'ftp://api.example.com/webhooks', 'webhook must be a valid URL', undefined],
    ['an empty string', '', 'webhook must be a non-empty string', 'empty webhook URL'],
  ])(
    'refuses a webhook that is %s with INVALID_FIELD, keeping the Item as it was and sending nothing',
    async (_name, webhook, message, malformed) => {
      const clientId = newClientId()
      const { accessToken } = await linkedItem(clientId)
      const answer = await update(clientId, { access_token: accessToken, webhook }, malformed)
      expect(answer).toEqual(plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', message))
      expect(await itemGet(clientId, accessToken)).toMatchObject({ webhook: WEBHOOK_URL })
      expect(await outbox(clientId)).toEqual([])
    },
  )

  it('refuses a request without access_token, and a removed Item with ITEM_NOT_FOUND, sending nothing', async () => {
    const clientId = newClientId()
    expect(await update(clientId, { webhook: NEW_URL }, 'missing access_token')).toEqual(
      plaidError(400, 'INVALID_REQUEST', 'MISSING_FIELDS', 'the following required fields are missing: access_token'),
    )

    const { accessToken } = await linkedItem(clientId)
    await removeItem(clientId, accessToken)
    expect(await update(clientId, { access_token: accessToken, webhook: NEW_URL })).toEqual(
      plaidError(400, 'ITEM_ERROR', 'ITEM_NOT_FOUND', /^The Item you requested cannot be found\./),
    )
    expect(await outbox(clientId)).toEqual([])
  })

  it('updates an Item whose login is required (where its webhooks go is not bank data)', async () => {
    const clientId = newClientId()
    const { accessToken } = await linkedItem(clientId)
    expect((await plaid(clientId, '/sandbox/item/reset_login', { access_token: accessToken })).status).toBe(200)
    await outbox(clientId)

    expect((await update(clientId, { access_token: accessToken, webhook: NEW_URL })).status).toBe(200)
    expect(await itemGet(clientId, accessToken)).toMatchObject({
      webhook: NEW_URL,
      error: { error_code: 'ITEM_LOGIN_REQUIRED' },
    })
    expect((await outbox(clientId)).map((d) => JSON.parse(d.body).webhook_code)).toEqual([
      'WEBHOOK_UPDATE_ACKNOWLEDGED',
    ])
  })
})
