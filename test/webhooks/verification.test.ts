import { afterEach, describe, expect, it, vi } from 'vitest'
import type { WebhookJob } from '../../src/queue/jobs'
import { api } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { captureLogs, logRecords } from '../helpers/logs'

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
  return api.webhook(env, {
    headers: { 'Content-Type': 'application/json', ...(verification ? { 'Plaid-Verification': verification } : {}) },
    body: payload,
  })
}

/** Every verification failure answers this, whichever check failed. */
const REFUSED = { detail: 'Failed to verify webhook: invalid Plaid-Verification' }

/** Posts a webhook and returns the answer with the Worker's "request failed" log line, if it wrote one. */
async function postLogged(env: TestEnv, payload: string, verification?: string) {
  const { result: res, logs } = await captureLogs(() => post(env, payload, verification))
  const failures = logRecords(logs).filter((entry) => entry.message === 'request failed')
  expect(failures.length).toBeLessThanOrEqual(1)
  return { res, failure: failures[0] }
}

/** Expects the generic 401 body, and the specific reason only in the log line. */
function expectRefused({ res, failure }: Awaited<ReturnType<typeof postLogged>>, reason: RegExp): void {
  expect(res.status).toBe(401)
  expect(res.body).toEqual(REFUSED)
  expect(failure).toMatchObject({ level: 'warn', status: 401, error: 'WebhookVerificationError' })
  expect(failure?.reason).toMatch(reason)
}

/** Moves the Worker's clock (not the emulator's) by `ms`; the afterEach hook puts it back. */
function shiftWorkerClock(ms: number): number {
  const target = Date.now() + ms
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(target)
  return Math.floor(target / 1000)
}

afterEach(() => {
  vi.useRealTimers()
})

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
      'a signature cut from another webhook',
      async (env) => {
        const other = await emulator.sign(env, '{"webhook_type":"ITEM"}')
        const mine = await emulator.sign(env, body)
        return [body, `${mine.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`]
      },
      /signature does not match/,
    ],
  ]
  it.each(forgeries)('answers 401 for %s and queues nothing', async (_, forge, reason) => {
    const { env, sent } = recordingEnv()
    const [payload, verification] = await forge(env)
    expectRefused(await postLogged(env, payload, verification), reason)
    expect(sent).toEqual([])
  })

  it('answers 401 for a key of another Plaid client or environment, even one this isolate has cached', async () => {
    const other = recordingEnv()
    const { env, sent } = recordingEnv()
    expectRefused(await postLogged(env, body, await emulator.sign(other.env, body)), /unknown signing key/)
    // Now the other client's key is cached here, verified for its own webhooks.
    expect((await post(other.env, body, await emulator.sign(other.env, body))).status).toBe(200)
    expect(other.sent).toHaveLength(1)
    expectRefused(await postLogged(env, body, await emulator.sign(other.env, body)), /unknown signing key/)
    expect(sent).toEqual([])
  })

  it('answers 401 for a key Plaid has expired, and queues nothing', async () => {
    const { env, sent } = recordingEnv()
    await emulator.rotateWebhookKey(env, true)
    expectRefused(
      await postLogged(env, body, await emulator.sign(env, body, { key: 'previous' })),
      /signing key has expired/,
    )
    expect(sent).toEqual([])
    // The new key works.
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
  })

  it('answers 401 for a key whose expired_at is set, even to a moment still ahead of its clock', async () => {
    const { env, sent } = recordingEnv()
    await emulator.rotateWebhookKey(env, true)
    // Ten minutes behind the emulator, the Worker sees the old key's expired_at in its future.
    const iat = shiftWorkerClock(-10 * 60_000)
    expectRefused(
      await postLogged(env, body, await emulator.sign(env, body, { key: 'previous', iat })),
      /signing key has expired/,
    )
    expect(sent).toEqual([])
  })

  it("refuses a cached key once a webhook signed with Plaid's next key shows it has expired", async () => {
    const { env, sent } = recordingEnv()
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    await emulator.rotateWebhookKey(env, true)
    const signedWithOld = await emulator.sign(env, body, { key: 'previous' })
    // The new kid is unknown here: looking it up re-reads the cached key too, as Plaid's recipe does.
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    sent.length = 0
    expectRefused(await postLogged(env, body, signedWithOld), /signing key has expired/)
    expect(sent).toEqual([])
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(3)
  })

  it('re-checks a cached key with Plaid after 5 minutes, and refuses it once Plaid has expired it', async () => {
    const { env, sent } = recordingEnv()
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    await emulator.rotateWebhookKey(env, true)
    sent.length = 0
    const iat = shiftWorkerClock(5 * 60_000 + 1_000)
    expectRefused(
      await postLogged(env, body, await emulator.sign(env, body, { key: 'previous', iat })),
      /signing key has expired/,
    )
    expect(sent).toEqual([])
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(2)
  })

  it('answers 500 (so Plaid retries) when a cached key is due for its re-check and Plaid cannot be reached', async () => {
    const { env, sent } = recordingEnv()
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    sent.length = 0
    const iat = shiftWorkerClock(5 * 60_000 + 1_000)
    await emulator.fault(env, { endpoint: '/webhook_verification_key/get', kind: 'disconnect', times: 0 })
    const res = await post(env, body, await emulator.sign(env, body, { iat }))
    expect(res.status).toBe(500)
    expect(sent).toEqual([])
    await emulator.clearFaults(env)
    expect((await post(env, body, await emulator.sign(env, body, { iat }))).status).toBe(200)
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
      const res = await postLogged(env, body, await emulator.sign(env, body, { kid: `made-up-${i}` }))
      expectRefused(res, i < 10 ? /^unknown signing key$/ : /lookup budget spent/)
    }
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(10)
    expect(sent).toEqual([])
  })

  it('does not re-read cached keys for a made-up kid', async () => {
    const { env } = recordingEnv()
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    for (let i = 0; i < 3; i++) {
      expectRefused(
        await postLogged(env, body, await emulator.sign(env, body, { kid: `made-up-${i}` })),
        /unknown signing key/,
      )
    }
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(4)
  })

  it('re-checks a cached key even when made-up kids have spent the budget', async () => {
    const { env, sent } = recordingEnv()
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    await emulator.rotateWebhookKey(env, true)
    sent.length = 0
    const iat = shiftWorkerClock(5 * 60_000 + 1_000)
    for (let i = 0; i < 10; i++) await post(env, body, await emulator.sign(env, body, { kid: `made-up-${i}`, iat }))
    expectRefused(
      await postLogged(env, body, await emulator.sign(env, body, { key: 'previous', iat })),
      /signing key has expired/,
    )
    expect(sent).toEqual([])
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(12)
  })

  it('re-reads cached keys for a new kid only as far as the budget allows', async () => {
    const { env } = recordingEnv()
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    for (let i = 0; i < 8; i++) await post(env, body, await emulator.sign(env, body, { kid: `made-up-${i}` }))
    await emulator.rotateWebhookKey(env, false)
    // The tenth lookup of the minute is the new kid's; nothing is left to re-read the cached key.
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    expect((await emulator.calls(env))['/webhook_verification_key/get']).toBe(10)
  })

  it('refuses a new key while the budget is spent, and takes it once the minute has passed', async () => {
    const { env, sent } = recordingEnv()
    for (let i = 0; i < 10; i++) await post(env, body, await emulator.sign(env, body, { kid: `made-up-${i}` }))
    expectRefused(await postLogged(env, body, await emulator.sign(env, body)), /lookup budget spent/)
    expect(sent).toEqual([])
    const iat = shiftWorkerClock(60_000)
    expect((await post(env, body, await emulator.sign(env, body, { iat }))).status).toBe(200)
    expect(sent).toHaveLength(1)
  })
})

describe('bursts of webhooks on an isolate with no key cached', () => {
  /** The kid a Plaid-Verification header names. */
  const kidOf = (verification: string) =>
    (JSON.parse(atob((verification.split('.')[0] as string).replace(/-/g, '+').replace(/_/g, '/'))) as { kid: string })
      .kid
  /** `count` distinct webhooks, as Plaid sends them for as many Items, each with its signature. */
  async function signedBurst(env: TestEnv, count: number, overrides: { iat?: number } = {}) {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const payload = body.replace('item-verification-test', `item-burst-${i}`)
        return { payload, verification: await emulator.sign(env, payload, overrides) }
      }),
    )
  }
  const KEY_PATH = '/webhook_verification_key/get'

  it('answers 200 to each of 200 genuine webhooks arriving at once, and asks Plaid for the key once', async () => {
    const { env, sent } = recordingEnv()
    const burst = await signedBurst(env, 200)
    const answers = await Promise.all(burst.map((w) => post(env, w.payload, w.verification)))
    expect(answers.map((res) => res.status)).toEqual(Array(200).fill(200))
    expect(sent).toHaveLength(200)
    expect(await emulator.keyLookups(env)).toEqual({ [kidOf(burst[0]?.verification as string)]: 1 })
  })

  it('shares one re-check with Plaid among webhooks arriving at once when the cached key is due', async () => {
    const { env } = recordingEnv()
    const first = await emulator.sign(env, body)
    expect((await post(env, body, first)).status).toBe(200)
    const iat = shiftWorkerClock(5 * 60_000 + 1_000)
    const burst = await signedBurst(env, 50, { iat })
    const answers = await Promise.all(burst.map((w) => post(env, w.payload, w.verification)))
    expect(answers.map((res) => res.status)).toEqual(Array(50).fill(200))
    expect(await emulator.keyLookups(env)).toEqual({ [kidOf(first)]: 2 })
  })

  it('answers 500 to every webhook that shared a lookup Plaid could not answer, and looks the key up again after', async () => {
    const { env, sent } = recordingEnv()
    await emulator.fault(env, { endpoint: KEY_PATH, kind: 'disconnect', times: 0 })
    const burst = await signedBurst(env, 20)
    const answers = await Promise.all(burst.map((w) => post(env, w.payload, w.verification)))
    expect(answers.map((res) => res.status)).toEqual(Array(20).fill(500))
    expect(sent).toEqual([])
    // One lookup, with the Plaid client's own attempts (at most 3), for the whole burst.
    const shared = (await emulator.calls(env))[KEY_PATH] as number
    expect(shared).toBeLessThanOrEqual(3)
    await emulator.clearFaults(env)
    // The failure was neither cached nor left in flight: the next webhook asks Plaid again.
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    expect((await emulator.calls(env))[KEY_PATH]).toBe(shared + 1)
  })

  it('answers 401 to every webhook that shared a lookup Plaid refused, and looks the key up again after', async () => {
    const { env, sent } = recordingEnv()
    await emulator.fault(env, { endpoint: KEY_PATH, kind: 'plaid_error', error_type: 'INVALID_INPUT', times: 1 })
    const burst = await signedBurst(env, 20)
    const answers = await Promise.all(burst.map((w) => post(env, w.payload, w.verification)))
    for (const res of answers) expect(res).toMatchObject({ status: 401, body: REFUSED })
    expect(sent).toEqual([])
    expect((await emulator.calls(env))[KEY_PATH]).toBe(1)
    expect((await post(env, body, await emulator.sign(env, body))).status).toBe(200)
    expect((await emulator.calls(env))[KEY_PATH]).toBe(2)
  })

  it('spends the lookup budget on made-up kids while a genuine burst shares its one lookup', async () => {
    const { env, sent } = recordingEnv()
    const [leader, ...joiners] = await signedBurst(env, 200)
    const forged = await Promise.all(
      Array.from({ length: 15 }, (_, i) => emulator.sign(env, body, { kid: `made-up-${i}` })),
    )
    // Plaid answers the genuine lookup slowly, so the rest of the burst and the forgeries arrive while it is in flight.
    await emulator.fault(env, { endpoint: KEY_PATH, kind: 'slow', delay_ms: 1_000 })
    const leading = post(env, leader?.payload as string, leader?.verification)
    await vi.waitFor(async () => expect((await emulator.calls(env))[KEY_PATH]).toBe(1), { timeout: 5_000 })
    const [genuine, madeUp] = await Promise.all([
      Promise.all([leading, ...joiners.map((w) => post(env, w.payload, w.verification))]),
      Promise.all(forged.map((verification) => post(env, body, verification))),
    ])
    expect(genuine.map((res) => res.status)).toEqual(Array(200).fill(200))
    expect(sent).toHaveLength(200)
    for (const res of madeUp) expect(res).toMatchObject({ status: 401, body: REFUSED })
    // The genuine kid spent one lookup of the minute's 10; nine made-up kids took the rest.
    const lookups = await emulator.keyLookups(env)
    expect(lookups[kidOf(leader?.verification as string)]).toBe(1)
    expect(Object.entries(lookups).filter(([kid, n]) => kid.startsWith('made-up-') && n === 1)).toHaveLength(9)
    expect(Object.values(lookups).reduce((a, b) => a + b)).toBe(10)
  })
})
