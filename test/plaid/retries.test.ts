import { describe, expect, it } from 'vitest'
import { itemIdOf, linkItem, newUser } from '../helpers/linking'
import { call, emulator, testEnv } from '../helpers/worker'

const LINK_TOKEN = '/api/v1/banking/link-token'

describe('retries toward Plaid', () => {
  it.each([
    ['a 503 from a gateway', { kind: 'status', status: 503 }],
    [
      'RATE_LIMIT_EXCEEDED (429)',
      { kind: 'plaid_error', status: 429, error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'RATE_LIMIT' },
    ],
    [
      'INTERNAL_SERVER_ERROR (500)',
      { kind: 'plaid_error', status: 500, error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR' },
    ],
    ['a dropped connection', { kind: 'disconnect' }],
  ] as const)('retries /link/token/create after %s and succeeds', async (_, fault) => {
    const env = testEnv()
    await emulator.fault(env, { endpoint: '/link/token/create', ...fault })
    const res = await call(env, 'POST', LINK_TOKEN, { token: (await newUser()).token })
    expect(res.status).toBe(200)
    expect((await emulator.calls(env))['/link/token/create']).toBe(2)
  })

  it('retries /accounts/get after INSTITUTION_DOWN', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    await emulator.fault(env, {
      endpoint: '/accounts/get',
      kind: 'plaid_error',
      error_type: 'INSTITUTION_ERROR',
      error_code: 'INSTITUTION_DOWN',
      error_message: 'this financial institution is not currently responding to this request',
    })
    const res = await call(env, 'POST', `/api/v1/banking/items/${itemId}/refresh`, { token: user.token })
    expect(res.status).toBe(200)
  })

  it('gives up after three attempts, well within the link-token deadline', async () => {
    const env = testEnv()
    await emulator.fault(env, { endpoint: '/link/token/create', kind: 'status', status: 503, times: 0 })
    const started = Date.now()
    const res = await call(env, 'POST', LINK_TOKEN, { token: (await newUser()).token })
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
    expect((await call(env, 'POST', LINK_TOKEN, { token: (await newUser()).token })).status).toBe(400)
    expect((await emulator.calls(env))['/link/token/create']).toBe(1)
  })

  it('does not start another attempt once the timeout has passed', async () => {
    const env = testEnv({ PLAID_TIMEOUT_MS: '300' })
    await emulator.fault(env, { endpoint: '/link/token/create', kind: 'slow', delay_ms: 2000, times: 0 })
    const res = await call(env, 'POST', LINK_TOKEN, { token: (await newUser()).token })
    expect(res.body.detail).toBe('Failed to create link token: Plaid did not answer within 300 ms')
    expect((await emulator.calls(env))['/link/token/create']).toBe(1)
  })

  it('never retries /item/public_token/exchange', async () => {
    const env = testEnv()
    const publicToken = await emulator.publicToken(env)
    await emulator.fault(env, { endpoint: '/item/public_token/exchange', kind: 'disconnect' })
    const res = await call(env, 'POST', '/api/v1/banking/exchange-token', {
      token: (await newUser()).token,
      body: { public_token: publicToken },
    })
    expect(res.status).toBe(500)
    expect((await emulator.calls(env))['/item/public_token/exchange']).toBe(1)
  })

  it('never retries /item/remove', async () => {
    const env = testEnv()
    const user = await newUser()
    const itemId = itemIdOf(await linkItem(env, user))
    await emulator.fault(env, { endpoint: '/item/remove', kind: 'status', status: 503 })
    const res = await call(env, 'DELETE', `/api/v1/banking/items/${itemId}`, { token: user.token })
    expect(res.status).toBe(500)
    expect((await emulator.calls(env))['/item/remove']).toBe(1)
  })

  it('never retries /accounts/balance/get (each call is billed and slow)', async () => {
    const env = testEnv()
    const user = await newUser()
    await linkItem(env, user)
    await emulator.fault(env, { endpoint: '/accounts/balance/get', kind: 'status', status: 503 })
    const res = await call(env, 'GET', '/api/v1/banking/accounts?refresh=true', { token: user.token })
    expect(res.status).toBe(500)
    expect((await emulator.calls(env))['/accounts/balance/get']).toBe(1)
  })
})
