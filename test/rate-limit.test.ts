import { describe, expect, it } from 'vitest'
import { itemIdOf, linkItem, newUser } from './helpers/linking'
import { call, emulator, testEnv } from './helpers/worker'

// wrangler.toml: [[ratelimits]] simple = { limit = 30, period = 60 }
const LIMIT = 30

describe('per-user rate limit on routes that reach Plaid', () => {
  it('answers 429 with Retry-After past the limit, without calling Plaid, and only for that user', async () => {
    const env = testEnv()
    const user = await newUser()
    const statuses: number[] = []
    for (let i = 0; i < LIMIT; i++) {
      statuses.push((await call(env, 'POST', '/api/v1/banking/link-token', { token: user.token })).status)
    }
    expect(statuses.every((s) => s === 200)).toBe(true)
    const calls = (await emulator.calls(env))['/link/token/create']

    const over = await call(env, 'POST', '/api/v1/banking/link-token', { token: user.token })
    expect(over.status).toBe(429)
    expect(over.headers.get('Retry-After')).toBe('60')
    expect(over.body).toEqual({ detail: 'too many requests that reach Plaid; try again shortly' })
    expect((await emulator.calls(env))['/link/token/create']).toBe(calls)

    // The same user's budget covers the other Plaid routes too; reads from storage stay open.
    const itemId = 'any-item'
    expect((await call(env, 'GET', '/api/v1/banking/accounts?refresh=true', { token: user.token })).status).toBe(429)
    expect((await call(env, 'GET', '/api/v1/banking/items', { token: user.token })).status).toBe(200)
    expect((await call(env, 'GET', `/api/v1/banking/items/${itemId}`, { token: user.token })).status).toBe(404)

    const other = await newUser()
    expect((await call(env, 'POST', '/api/v1/banking/link-token', { token: other.token })).status).toBe(200)
  })

  it('counts exchange, refresh and manual sync against the same budget', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user)) // 1
    for (let i = 0; i < LIMIT - 1; i++) {
      const path = i % 2 ? `/api/v1/banking/items/${itemId}/sync` : `/api/v1/banking/items/${itemId}/refresh`
      expect((await call(env, 'POST', path, { token: user.token })).status).toBe(200)
    }
    const res = await call(env, 'POST', `/api/v1/banking/items/${itemId}/sync`, { token: user.token })
    expect(res.status).toBe(429)
  })
})

describe('rate limit and exchange replays', () => {
  it('answers a replayed public token from storage even when the budget is spent', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const first = await call(env, 'POST', '/api/v1/banking/exchange-token', {
      token: user.token,
      body: { public_token: publicToken },
    })
    expect(first.status).toBe(201)
    for (let i = 0; i < LIMIT; i++) await call(env, 'POST', '/api/v1/banking/link-token', { token: user.token })
    expect((await call(env, 'POST', '/api/v1/banking/link-token', { token: user.token })).status).toBe(429)

    const replay = await call(env, 'POST', '/api/v1/banking/exchange-token', {
      token: user.token,
      body: { public_token: publicToken },
    })
    expect(replay.status).toBe(200)
    expect(replay.body.item).toEqual(first.body.item)

    // A new public token would reach Plaid, so it is refused before Plaid is called.
    const fresh = await emulator.publicToken(env, 'ins_109509')
    const refused = await call(env, 'POST', '/api/v1/banking/exchange-token', {
      token: user.token,
      body: { public_token: fresh },
    })
    expect(refused.status).toBe(429)
    expect((await emulator.calls(env))['/item/public_token/exchange']).toBe(1)
  })
})
