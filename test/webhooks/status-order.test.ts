import { describe, expect, it } from 'vitest'
import { itemIdOf, linkItem, newUser, type User } from '../helpers/linking'
import { captureLogs, logRecords } from '../helpers/logs'
import { now } from '../helpers/tokens'
import { call, deliverAndConsume, emulator, type TestEnv, testEnv, WEBHOOK_URL } from '../helpers/worker'

/**
 * An ITEM webhook as Plaid sends it, signed by the emulator at `iat`, delivered through the
 * front door and worked off by the queue() handler.
 */
async function sendItemWebhook(
  env: TestEnv,
  itemId: string,
  code: string,
  iat: number,
  headers: Record<string, string> = {},
) {
  const body = JSON.stringify({
    webhook_type: 'ITEM',
    webhook_code: code,
    item_id: itemId,
    ...(code === 'ERROR' && {
      error: {
        error_type: 'ITEM_ERROR',
        error_code: 'ITEM_LOGIN_REQUIRED',
        error_message:
          'the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information',
        display_message: null,
      },
    }),
    environment: 'sandbox',
  })
  const verification = await emulator.sign(env, body, { iat })
  await deliverAndConsume(env, {
    url: WEBHOOK_URL,
    headers: { 'Content-Type': 'application/json', 'Plaid-Verification': verification, ...headers },
    body,
  })
}

const itemOf = async (env: TestEnv, user: User, itemId: string) =>
  (await call(env, 'GET', `/api/v1/banking/items/${itemId}`, { token: user.token })).body.item as Record<
    string,
    unknown
  >

describe('ITEM status webhooks arriving out of order', () => {
  it('an ERROR delivered after a LOGIN_REPAIRED that Plaid signed later leaves the Item good', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    await sendItemWebhook(env, itemId, 'ERROR', now() - 120)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'login_required' })
    await sendItemWebhook(env, itemId, 'LOGIN_REPAIRED', now() - 30)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'good', error_code: null })

    // The ERROR again, as a queue retry of the first delivers it: older than the repair.
    await sendItemWebhook(env, itemId, 'ERROR', now() - 90)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'good', error_code: null })
  })

  it('a status webhook signed later than the last one applied still applies', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    await sendItemWebhook(env, itemId, 'LOGIN_REPAIRED', now() - 120)
    await sendItemWebhook(env, itemId, 'ERROR', now() - 60)
    expect(await itemOf(env, user, itemId)).toMatchObject({
      status: 'login_required',
      error_code: 'ITEM_LOGIN_REQUIRED',
    })
    await sendItemWebhook(env, itemId, 'PENDING_EXPIRATION', now() - 30)
    expect(await itemOf(env, user, itemId)).toMatchObject({ status: 'pending_expiration' })
  })
})

describe('queue consumer log lines', () => {
  it('carry the request id of the webhook request that queued the job', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    const requestId = `plaid-${crypto.randomUUID()}`
    const { logs } = await captureLogs(() =>
      sendItemWebhook(env, itemId, 'PENDING_EXPIRATION', now(), { 'X-Request-Id': requestId }),
    )
    const consumerLines = logRecords(logs).filter((line) => line.queue === 'plaid-webhooks')
    expect(consumerLines).toContainEqual(
      expect.objectContaining({ message: 'item status updated', item_id: itemId, request_id: requestId }),
    )
  })
})
