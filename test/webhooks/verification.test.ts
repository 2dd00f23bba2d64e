import { describe, expect, it } from 'vitest'
import type { WebhookJob } from '../../src/webhooks/job'
import { call, emulator, type TestEnv, testEnv } from '../helpers/worker'

const PATH = '/api/v1/banking/webhooks'
const now = () => Math.floor(Date.now() / 1000)
const body = JSON.stringify({
  environment: 'sandbox',
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'SYNC_UPDATES_AVAILABLE',
  item_id: 'item-verification-test',
  initial_update_complete: true,
  historical_update_complete: true,
})

/** The env with its queue replaced by a recorder, to see what a webhook did or did not enqueue. */
function recordingEnv(): { env: TestEnv; sent: WebhookJob[] } {
  const sent: WebhookJob[] = []
  const queue = {
    send: async (job: WebhookJob) => {
      sent.push(job)
    },
    sendBatch: async () => {},
  }
  return { env: testEnv({ WEBHOOK_QUEUE: queue as unknown as Queue<WebhookJob> }), sent }
}

async function post(env: TestEnv, payload: string, verification?: string) {
  return call(env, 'POST', PATH, {
    headers: { 'Content-Type': 'application/json', ...(verification ? { 'Plaid-Verification': verification } : {}) },
    body: payload,
  })
}

describe('POST /api/v1/banking/webhooks verification', () => {
  it('accepts a webhook signed by Plaid, answers 200 and queues it', async () => {
    const { env, sent } = recordingEnv()
    const res = await post(env, body, await emulator.sign(env, body))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ received: true })
    expect(sent).toEqual([
      expect.objectContaining({
        webhook_type: 'TRANSACTIONS',
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
        item_id: 'item-verification-test',
      }),
    ])
  })

  it('caches the verification key: a second webhook does not fetch it again', async () => {
    const { env } = recordingEnv()
    await post(env, body, await emulator.sign(env, body))
    await post(env, body, await emulator.sign(env, body))
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(1)
  })

  const forgeries: Array<[string, (env: TestEnv) => Promise<[string, string | undefined]>, RegExp]> = [
    ['a missing Plaid-Verification header', async () => [body, undefined], /missing Plaid-Verification header/],
    ['a header that is not a JWT', async () => [body, 'not-a-jwt'], /not a JWT/],
    ['alg HS256 in the header', async (env) => [body, await emulator.sign(env, body, { alg: 'HS256' })], /not ES256/],
    ['alg none in the header', async (env) => [body, await emulator.sign(env, body, { alg: 'none' })], /not ES256/],
    [
      'an unknown kid',
      async (env) => [body, await emulator.sign(env, body, { kid: 'no-such-key' })],
      /unknown signing key/,
    ],
    [
      'a tampered body',
      async (env) => [body.replace('SYNC_UPDATES_AVAILABLE', 'DEFAULT_UPDATE'), await emulator.sign(env, body)],
      /body does not match its signed hash/,
    ],
    [
      'a body with one extra space',
      async (env) => [`${body} `, await emulator.sign(env, body)],
      /body does not match its signed hash/,
    ],
    [
      'an iat older than 5 minutes',
      async (env) => [body, await emulator.sign(env, body, { iat: now() - 6 * 60 })],
      /older than 5 minutes/,
    ],
    [
      'an iat in the future',
      async (env) => [body, await emulator.sign(env, body, { iat: now() + 5 * 60 })],
      /dated in the future/,
    ],
    [
      'a key from another Plaid environment',
      async () => [body, await emulator.sign(testEnv(), body)],
      /unknown signing key/,
    ],
    [
      'a signature cut from another webhook',
      async (env) => {
        const other = await emulator.sign(env, '{"webhook_type":"ITEM"}')
        const mine = await emulator.sign(env, body)
        return [body, `${mine.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`]
      },
      /signature does not match/,
    ],
  ]
  it.each(forgeries)('answers 401 for %s and queues nothing', async (_, forge, detail) => {
    const { env, sent } = recordingEnv()
    const [payload, verification] = await forge(env)
    const res = await post(env, payload, verification)
    expect(res.status).toBe(401)
    expect(res.body.detail).toMatch(detail)
    expect(sent).toEqual([])
  })

  it('answers 401 for a key Plaid has expired, and queues nothing', async () => {
    const { env, sent } = recordingEnv()
    await emulator.rotateWebhookKey(env, true)
    const res = await post(env, body, await emulator.sign(env, body, { key: 'previous' }))
    expect(res.status).toBe(401)
    expect(res.body.detail).toMatch(/signing key has expired/)
    expect(sent).toEqual([])
    // The new key works.
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
  })

  it('accepts an iat a few seconds in the future (clock skew)', async () => {
    const { env } = recordingEnv()
    expect((await post(env, body, await emulator.sign(env, body, { iat: now() + 30 }))).status).toBe(200)
  })

  it('does not look up keys for a token whose algorithm is wrong', async () => {
    const { env } = recordingEnv()
    await post(env, body, await emulator.sign(env, body, { alg: 'none' }))
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBeUndefined()
  })

  it('answers 500 (so Plaid retries) when the key cannot be fetched because Plaid is down', async () => {
    const { env, sent } = recordingEnv()
    const verification = await emulator.sign(env, body)
    const res = await post({ ...env, PLAID_BASE_URL: 'http://unreachable.test' }, body, verification)
    expect(res.status).toBe(500)
    expect(sent).toEqual([])
  })

  it('answers 413 for a body over 64 KB', async () => {
    const { env, sent } = recordingEnv()
    const big = JSON.stringify({ webhook_type: 'ITEM', padding: 'x'.repeat(70_000) })
    const res = await post(env, big, await emulator.sign(env, body))
    expect(res.status).toBe(413)
    expect(sent).toEqual([])
  })
})

describe('verification key lookups', () => {
  it('looks up at most 10 unknown kids a minute, so made-up kids cannot flood Plaid', async () => {
    const { env, sent } = recordingEnv()
    for (let i = 0; i < 15; i++) {
      const res = await post(env, body, await emulator.sign(env, body, { kid: `made-up-${i}` }))
      expect(res.status).toBe(401)
    }
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(10)
    expect(sent).toEqual([])
  })
})
