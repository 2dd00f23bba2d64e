import { describe, expect } from 'vitest'
import { api, deliverAndConsume, itemOf, WEBHOOK_URL } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import type { TestEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { captureLogs, logRecords } from '../helpers/logs'
import { now } from '../helpers/tokens'

type PlaidError = { error_type: string; error_code: string; error_message: string; display_message: null }

/** The ERROR webhook's error when the bank login changed: the user must repair it in update mode. */
const LOGIN_REQUIRED: PlaidError = {
  error_type: 'ITEM_ERROR',
  error_code: 'ITEM_LOGIN_REQUIRED',
  error_message:
    'the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information',
  display_message: null,
}

/** An error the user cannot fix: the bank is down for a while. */
const INSTITUTION_DOWN: PlaidError = {
  error_type: 'INSTITUTION_ERROR',
  error_code: 'INSTITUTION_DOWN',
  error_message: 'this institution is not currently responding to this request. please try again soon',
  display_message: null,
}

/**
 * An ITEM webhook as Plaid sends it, signed by the emulator at `iat`, delivered through the
 * front door and worked off by the queue() handler.
 */
async function sendItemWebhook(
  env: TestEnv,
  itemId: string,
  code: string,
  iat: number,
  { headers = {}, error = LOGIN_REQUIRED }: { headers?: Record<string, string>; error?: PlaidError } = {},
) {
  const body = JSON.stringify({
    webhook_type: 'ITEM',
    webhook_code: code,
    item_id: itemId,
    ...(code === 'ERROR' && { error }),
    environment: 'sandbox',
  })
  const verification = await emulator.sign(env, body, { iat })
  await deliverAndConsume(env, {
    url: WEBHOOK_URL,
    headers: { 'Content-Type': 'application/json', 'Plaid-Verification': verification, ...headers },
    body,
  })
}

describe('ITEM status webhooks arriving out of order', () => {
  it('an ERROR delivered after a LOGIN_REPAIRED that Plaid signed later leaves the Item good', async ({
    linked: { env, user, itemId },
  }) => {
    await sendItemWebhook(env, itemId, 'ERROR', now() - 120)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'login_required' })
    await sendItemWebhook(env, itemId, 'LOGIN_REPAIRED', now() - 30)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'good', error_code: null })

    // The ERROR again, as a queue retry of the first delivers it: older than the repair.
    await sendItemWebhook(env, itemId, 'ERROR', now() - 90)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'good', error_code: null })
  })

  it('a status webhook signed later than the last one applied still applies', async ({
    linked: { env, user, itemId },
  }) => {
    await sendItemWebhook(env, itemId, 'LOGIN_REPAIRED', now() - 120)
    await sendItemWebhook(env, itemId, 'ERROR', now() - 60)
    expect(await itemOf(env, user, itemId)).toMatchObject({
      status: 'login_required',
      error_code: 'ITEM_LOGIN_REQUIRED',
    })
    await sendItemWebhook(env, itemId, 'PENDING_EXPIRATION', now() - 30)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'pending_expiration' })
  })

  it('an ERROR the user cannot fix records its code and keeps the status an earlier webhook set', async ({
    linked: { env, user, itemId },
  }) => {
    await sendItemWebhook(env, itemId, 'PENDING_EXPIRATION', now() - 60)
    await sendItemWebhook(env, itemId, 'ERROR', now() - 30, { error: INSTITUTION_DOWN })
    expect(await itemOf(env, user, itemId)).toMatchObject({
      status: 'pending_expiration',
      error_code: 'INSTITUTION_DOWN',
    })
  })
})

describe('ITEM status webhooks and errors the API observes itself', () => {
  it('a login error a sync meets after a status webhook is recorded, so the frontend offers update mode', async ({
    linked: { env, user, itemId },
  }) => {
    await sendItemWebhook(env, itemId, 'PENDING_EXPIRATION', now() - 30)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'pending_expiration' })

    await emulator.requireLogin(env, itemId)
    const synced = await api.sync(env, user.token, itemId)
    expect(synced.status).toBe(400)
    expect(synced.body).toMatchObject({ error_code: 'ITEM_LOGIN_REQUIRED' })
    expect(await itemOf(env, user, itemId)).toMatchObject({
      status: 'login_required',
      error_code: 'ITEM_LOGIN_REQUIRED',
    })
  })
})

describe('queue consumer log lines', () => {
  it('carry the request id of the webhook request that queued the job', async ({ linked: { env, itemId } }) => {
    const requestId = `plaid-${crypto.randomUUID()}`
    const { logs } = await captureLogs(() =>
      sendItemWebhook(env, itemId, 'PENDING_EXPIRATION', now(), { headers: { 'X-Request-Id': requestId } }),
    )
    const consumerLines = logRecords(logs).filter((line) => line.queue === 'plaid-webhooks')
    expect(consumerLines).toContainEqual(
      expect.objectContaining({ message: 'item status updated', item_id: itemId, request_id: requestId }),
    )
  })
})
