import { describe, expect, it, vi } from 'vitest'
import type { FaultSpec } from '../../emulator/faults'
import { api, type CallResult, deliver, type ItemRoute, WEBHOOK_URL } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { itemIdOf, linkItem, newUser } from '../helpers/linking'

type Fault = Omit<FaultSpec, 'endpoint'>

/** Each class of failure the client treats as passing, and the status the API answers when it gives up. */
const triggers: Array<[string, Fault, number]> = [
  [
    '429 RATE_LIMIT_EXCEEDED',
    { kind: 'plaid_error', status: 429, error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'RATE_LIMIT' },
    400,
  ],
  [
    '500 INTERNAL_SERVER_ERROR',
    { kind: 'plaid_error', status: 500, error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR' },
    400,
  ],
  ['a 503 page from a gateway', { kind: 'status', status: 503 }, 500],
  [
    'INSTITUTION_DOWN',
    { kind: 'plaid_error', status: 400, error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_DOWN' },
    400,
  ],
  [
    'INSTITUTION_NOT_RESPONDING',
    { kind: 'plaid_error', status: 400, error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_NOT_RESPONDING' },
    400,
  ],
  ['a dropped connection', { kind: 'disconnect' }, 500],
]

/**
 * How a test reaches one Plaid path through a real API route: `prepare` does whatever the route
 * needs first (linking an Item calls Plaid too), and returns the request that makes the call.
 */
type Route = {
  name: string
  plaidPath: string
  ok: number
  prepare: (env: TestEnv) => Promise<() => Promise<CallResult>>
}

const withItem = (request: ItemRoute) => async (env: TestEnv) => {
  const user = await newUser()
  const itemId = itemIdOf(await linkItem(env, user))
  return () => request(env, user.token, itemId)
}

const exchangeNewPublicToken = async (env: TestEnv) => {
  const [{ token }, publicToken] = await Promise.all([newUser(), emulator.publicToken(env)])
  return () => api.exchangeToken(env, token, { public_token: publicToken })
}

const retried: Route[] = [
  {
    name: 'POST link-token',
    plaidPath: '/link/token/create',
    ok: 200,
    prepare: async (env) => {
      const { token } = await newUser()
      return () => api.linkToken(env, token)
    },
  },
  {
    name: 'POST exchange-token',
    plaidPath: '/accounts/get',
    ok: 201,
    prepare: exchangeNewPublicToken,
  },
  {
    name: 'POST items/:id/refresh',
    plaidPath: '/item/get',
    ok: 200,
    prepare: withItem(api.refresh),
  },
  {
    name: 'POST items/:id/refresh',
    plaidPath: '/accounts/get',
    ok: 200,
    prepare: withItem(api.refresh),
  },
  {
    name: 'POST items/:id/sync',
    plaidPath: '/transactions/sync',
    ok: 200,
    prepare: withItem(api.sync),
  },
  {
    name: 'POST webhooks',
    plaidPath: '/webhook_verification_key/get',
    ok: 200,
    prepare: async (env) => {
      const body = JSON.stringify({
        webhook_type: 'TRANSACTIONS',
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
        item_id: 'item-retry-test',
        environment: 'sandbox',
      })
      const verification = await emulator.sign(env, body)
      // Only verification is under test: what the webhook queues stays in the env's RecordingQueue.
      return () =>
        deliver(env, {
          url: WEBHOOK_URL,
          headers: { 'Content-Type': 'application/json', 'Plaid-Verification': verification },
          body,
        })
    },
  },
]

const neverRetried: Route[] = [
  {
    name: 'POST exchange-token',
    plaidPath: '/item/public_token/exchange',
    ok: 201,
    prepare: exchangeNewPublicToken,
  },
  {
    name: 'DELETE items/:id',
    plaidPath: '/item/remove',
    ok: 204,
    prepare: withItem(api.removeItem),
  },
  {
    name: 'GET accounts?refresh=true',
    plaidPath: '/accounts/balance/get',
    ok: 200,
    prepare: withItem((env, token) => api.accounts(env, token, { query: { refresh: true } })),
  },
]

const cross = (routes: Route[]) =>
  routes.flatMap((route) =>
    triggers.map(
      ([what, fault, status]) => [`${route.plaidPath} (${route.name}) after ${what}`, route, fault, status] as const,
    ),
  )

/** Calls `send` with one fault armed on the route's Plaid path; how many calls that path got. */
async function callsWithFault(route: Route, fault: Fault): Promise<{ res: CallResult; calls: number }> {
  const env = testEnv()
  const send = await route.prepare(env)
  const before = (await emulator.calls(env))[route.plaidPath] ?? 0
  await emulator.fault(env, { endpoint: route.plaidPath, ...fault } as FaultSpec)
  const res = await send()
  const after = (await emulator.calls(env))[route.plaidPath] ?? 0
  return { res, calls: after - before }
}

describe('retries toward Plaid', () => {
  it.each(retried.map((route) => [route.plaidPath, route.name, route] as const))(
    'reaches %s once through %s when nothing fails',
    async (_, __, route) => {
      const env = testEnv()
      const send = await route.prepare(env)
      const before = (await emulator.calls(env))[route.plaidPath] ?? 0
      expect((await send()).status).toBe(route.ok)
      expect(((await emulator.calls(env))[route.plaidPath] ?? 0) - before).toBe(1)
    },
  )

  it.each(cross(retried))('retries %s once and succeeds', async (_, route, fault) => {
    const { res, calls } = await callsWithFault(route, fault)
    expect(res.status, res.text).toBe(route.ok)
    expect(calls).toBe(2)
  })

  it.each(cross(neverRetried))('never retries %s', async (_, route, fault, status) => {
    const { res, calls } = await callsWithFault(route, fault)
    expect(res.status, res.text).toBe(status)
    expect(res.body.detail).toEqual(expect.any(String))
    if (fault.kind === 'plaid_error') expect(res.body.error_code).toBe(fault.error_code)
    expect(calls).toBe(1)
  })

  it('gives up after three attempts, well within the link-token deadline', async () => {
    const env = testEnv()
    await emulator.fault(env, { endpoint: '/link/token/create', kind: 'status', status: 503, times: 0 })
    const started = Date.now()
    const res = await api.linkToken(env, (await newUser()).token)
    expect(res.status).toBe(500)
    expect((await emulator.calls(env))['/link/token/create']).toBe(3)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('does not retry a request that Plaid rejected as wrong', async () => {
    const env = testEnv()
    await emulator.fault(env, {
      endpoint: '/link/token/create',
      kind: 'plaid_error',
      error_code: 'INVALID_FIELD',
      times: 0,
    })
    expect((await api.linkToken(env, (await newUser()).token)).status).toBe(400)
    expect((await emulator.calls(env))['/link/token/create']).toBe(1)
  })

  it('does not start another attempt once the timeout has passed', async () => {
    const env = testEnv({ PLAID_TIMEOUT_MS: '300' })
    await emulator.fault(env, { endpoint: '/link/token/create', kind: 'slow', delay_ms: 2000, times: 0 })
    const res = await api.linkToken(env, (await newUser()).token)
    expect(res.body.detail).toBe('Failed to create link token: Plaid did not answer within 300 ms')
    expect((await emulator.calls(env))['/link/token/create']).toBe(1)
  })
})

describe('backoff between attempts', () => {
  /**
   * The pauses the client takes before its second and third attempts at a link token that keeps
   * failing, with Math.random fixed. The pauses are read from the timers the Worker sets, not
   * measured on the clock.
   */
  async function pauses(random: number): Promise<number[]> {
    const env = testEnv()
    const { token } = await newUser()
    await emulator.fault(env, { endpoint: '/link/token/create', kind: 'status', status: 503, times: 0 })
    vi.spyOn(Math, 'random').mockReturnValue(random)
    const timers = vi.spyOn(globalThis, 'setTimeout')
    let res: CallResult
    try {
      res = await api.linkToken(env, token)
    } finally {
      vi.restoreAllMocks()
    }
    expect(res.status).toBe(500)
    expect((await emulator.calls(env))['/link/token/create']).toBe(3)
    return timers.mock.calls.map(([, ms]) => Number(ms))
  }

  it('grows from one attempt to the next', async () => {
    const [first, second] = await pauses(0.5)
    expect(first).toBeGreaterThan(0)
    expect(second).toBeGreaterThan(first as number)
  })

  it('is fully jittered: each pause is the random share of its ceiling, down to none', async () => {
    const half = await pauses(0.5)
    const quarter = await pauses(0.25)
    expect(half).toHaveLength(2)
    expect(quarter).toEqual(half.map((ms) => ms / 2))
    expect(await pauses(0)).toEqual([0, 0])
    // Even the largest draw stays within the client's one-second cap.
    for (const ms of await pauses(0.999)) expect(ms).toBeLessThanOrEqual(1_000)
  })
})
