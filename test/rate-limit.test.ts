/// <reference types="vite/client" />
import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import wranglerToml from '../wrangler.toml?raw'
import { api, type CallResult, type ItemRoute } from './helpers/api'
import { emulator } from './helpers/emulator'
import { type TestEnv, testEnv } from './helpers/env'
import { itemIdOf, linkItem, newUser, type User } from './helpers/linking'
import { PLAID_RATE_LIMIT, type TestRateLimiter, testRateLimiter } from './helpers/rate-limiter'

/** `simple = { limit, period }` of each PLAID_RATE_LIMITER block in wrangler.toml, by block header. */
const configured = [
  ...wranglerToml.matchAll(
    /^\[\[((?:env\.\w+\.)?ratelimits)\]\]\s*\nname = "PLAID_RATE_LIMITER"\s*\n[^[]*?simple = \{ limit = (\d+), period = (\d+) \}/gm,
  ),
].map(([, block, limit, period]) => ({ block, limit: Number(limit), period: Number(period) }))
const { limit: LIMIT, period: PERIOD } = PLAID_RATE_LIMIT
const OVER_LIMIT = { detail: 'too many requests that reach Plaid; try again shortly' }

/**
 * The Worker with a limiter whose window only ends when the test says so (see
 * helpers/rate-limiter.ts): the real binding's windows follow the clock, so a burst of LIMIT + 1
 * requests could straddle a boundary and find its budget renewed.
 */
function limitedEnv(): { env: TestEnv; limiter: TestRateLimiter } {
  const limiter = testRateLimiter(LIMIT)
  return { env: testEnv({ PLAID_RATE_LIMITER: limiter.binding }), limiter }
}

describe('the rate limit setting', () => {
  it('is the same in every [[ratelimits]] block of wrangler.toml', () => {
    expect(configured.map((c) => c.block)).toEqual([
      'ratelimits',
      'env.production.ratelimits',
      'env.sandbox.ratelimits',
    ])
    for (const block of configured) expect(block).toEqual({ block: block.block, ...PLAID_RATE_LIMIT })
    // The figures the README documents.
    expect(PLAID_RATE_LIMIT).toEqual({ limit: 30, period: 60 })
    expect([10, 60]).toContain(PERIOD)
  })

  it('is bound for the Worker: a first request of a new key is allowed', async () => {
    // Only a key's first request is certain to be allowed whatever the clock; the counting
    // itself is tested below with a limiter whose window the test controls.
    const limiter = baseEnv.PLAID_RATE_LIMITER as RateLimit
    expect(await limiter.limit({ key: `user:${crypto.randomUUID()}` })).toEqual({ success: true })
  })
})

/**
 * One route that costs Plaid calls. `setup` returns how much of the user's budget it spent and
 * `ready`, which makes what one more request needs (a new public token, say) and returns it unsent.
 */
type PlaidRoute = {
  name: string
  ok: number
  setup: (env: TestEnv, user: User) => Promise<{ spent: number; ready: () => Promise<() => Promise<CallResult>> }>
}

const onItem = (request: ItemRoute) => async (env: TestEnv, user: User) => {
  const itemId = itemIdOf(await linkItem(env, user))
  return { spent: 1, ready: async () => () => request(env, user.token, itemId) }
}

const plaidRoutes: PlaidRoute[] = [
  {
    name: 'POST link-token',
    ok: 200,
    setup: async (env, user) => ({
      spent: 0,
      ready: async () => () => api.linkToken(env, user.token),
    }),
  },
  {
    name: 'POST exchange-token',
    ok: 201,
    setup: async (env, user) => {
      const institutions = ['ins_109508', 'ins_109509']
      return {
        spent: 0,
        ready: async () => {
          const publicToken = await emulator.publicToken(env, institutions.shift())
          return () => api.exchangeToken(env, user.token, { public_token: publicToken })
        },
      }
    },
  },
  {
    name: 'GET accounts?refresh=true',
    ok: 200,
    setup: onItem((env, token) => api.accounts(env, token, { query: { refresh: true } })),
  },
  { name: 'POST items/:id/refresh', ok: 200, setup: onItem(api.refresh) },
  { name: 'POST items/:id/sync', ok: 200, setup: onItem(api.sync) },
]

describe.each(plaidRoutes.map((route) => [route.name, route] as const))('rate limit on %s', (_, route) => {
  it('spends the budget, then answers 429 with Retry-After and does not call Plaid', async () => {
    const { env } = limitedEnv()
    const user = await newUser()
    const { spent, ready } = await route.setup(env, user)
    // All but the last unit of the budget on link tokens, the last on this route.
    for (let i = spent; i < LIMIT - 1; i++) {
      expect((await api.linkToken(env, user.token)).status).toBe(200)
    }
    const last = await (await ready())()
    expect(last.status, last.text).toBe(route.ok)

    const send = await ready()
    const before = await emulator.calls(env)
    const over = await send()
    expect(over.status).toBe(429)
    expect(over.body).toEqual(OVER_LIMIT)
    expect(over.headers.get('Retry-After')).toBe(String(PERIOD))
    expect(await emulator.calls(env)).toEqual(before)
  })
})

describe('per-user rate limit on routes that reach Plaid', () => {
  it('answers 429 with Retry-After past the limit, without calling Plaid, and only for that user', async () => {
    const { env, limiter } = limitedEnv()
    const user = await newUser()
    const statuses: number[] = []
    for (let i = 0; i < LIMIT; i++) {
      statuses.push((await api.linkToken(env, user.token)).status)
    }
    expect(statuses.every((s) => s === 200)).toBe(true)
    const calls = (await emulator.calls(env))['/link/token/create']

    const over = await api.linkToken(env, user.token)
    expect(over.status).toBe(429)
    expect(over.headers.get('Retry-After')).toBe(String(PERIOD))
    expect(over.body).toEqual(OVER_LIMIT)
    expect((await emulator.calls(env))['/link/token/create']).toBe(calls)

    // The same user's budget covers the other Plaid routes too; reads from storage stay open.
    const itemId = 'any-item'
    expect((await api.accounts(env, user.token, { query: { refresh: true } })).status).toBe(429)
    expect((await api.items(env, user.token)).status).toBe(200)
    expect((await api.item(env, user.token, itemId)).status).toBe(404)

    const other = await newUser()
    expect((await api.linkToken(env, other.token)).status).toBe(200)
    expect(new Set(limiter.keys)).toEqual(new Set([`user:${user.id}`, `user:${other.id}`]))
  })

  it('gives the whole budget back when a new window begins', async () => {
    const { env, limiter } = limitedEnv()
    const user = await newUser()
    const linkToken = () => api.linkToken(env, user.token)
    for (let i = 0; i < LIMIT; i++) expect((await linkToken()).status).toBe(200)
    expect((await linkToken()).status).toBe(429)

    // As with Cloudflare's binding: a burst at the end of one window and another at the start of
    // the next reach Plaid up to twice the limit in a short time.
    limiter.nextWindow()
    for (let i = 0; i < LIMIT; i++) expect((await linkToken()).status).toBe(200)
    expect((await linkToken()).status).toBe(429)
  })

  it('counts exchange, refresh and manual sync against the same budget', async () => {
    const { env } = limitedEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user)) // 1
    for (let i = 0; i < LIMIT - 1; i++) {
      const request = i % 2 ? api.sync : api.refresh
      expect((await request(env, user.token, itemId)).status).toBe(200)
    }
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(429)
  })
})

describe('rate limit and exchange replays', () => {
  it('answers a replayed public token from storage even when the budget is spent', async () => {
    const { env } = limitedEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const first = await api.exchangeToken(env, user.token, { public_token: publicToken })
    expect(first.status).toBe(201)
    for (let i = 0; i < LIMIT; i++) await api.linkToken(env, user.token)
    expect((await api.linkToken(env, user.token)).status).toBe(429)

    const replay = await api.exchangeToken(env, user.token, { public_token: publicToken })
    expect(replay.status).toBe(200)
    expect(replay.body.item).toEqual(first.body.item)

    // A new public token would reach Plaid, so it is refused before Plaid is called.
    const fresh = await emulator.publicToken(env, 'ins_109509')
    const refused = await api.exchangeToken(env, user.token, { public_token: fresh })
    expect(refused.status).toBe(429)
    expect((await emulator.calls(env))['/item/public_token/exchange']).toBe(1)
  })
})
