import { describe, expect, it } from 'vitest'
import { idpEnv, idpToken, jwksFault, jwksFetches } from '../auth/identity-provider'
import { api } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { linkItem, newUser } from '../helpers/linking'
import { mintToken } from '../helpers/tokens'

/** The most PLAID_TIMEOUT_MS may be. */
const MAX_PLAID_TIMEOUT = '10000'
const PLAID_TIMED_OUT = /^Failed to create link token: Plaid did not answer within \d+ ms$/

/** Asks for a link token and expects Plaid's timeout answer inside the 10 s the seed promises. */
async function expectTimeoutAnswerWithin10s(env: TestEnv, token: string) {
  const started = Date.now()
  const res = await api.linkToken(env, token)
  const elapsed = Date.now() - started
  expect(res.status).toBe(500)
  expect(res.body.detail).toMatch(PLAID_TIMED_OUT)
  expect(elapsed).toBeLessThan(10_000)
}

// Each of these waits about 10 s for the deadline, so they wait side by side.
describe.concurrent('the link-token deadline: an answer within 10 s in every configuration', () => {
  it('answers 500 within 10 s when Plaid is slow and PLAID_TIMEOUT_MS is at its maximum', async () => {
    const env = testEnv({ PLAID_TIMEOUT_MS: MAX_PLAID_TIMEOUT })
    await emulator.fault(env, { endpoint: '/link/token/create', kind: 'slow', delay_ms: 15_000 })
    const token = await mintToken()
    await expectTimeoutAnswerWithin10s(env, token)
  }, 20_000)

  it('answers 500 within 10 s when the identity provider and Plaid are both slow (JWKS mode)', async () => {
    const { env, tenant } = idpEnv({ PLAID_TIMEOUT_MS: MAX_PLAID_TIMEOUT })
    // Under the 5 s JWKS timeout, so the keys arrive and the token is accepted; Plaid gets the rest.
    await jwksFault(tenant, { delay_ms: 4_000 })
    await emulator.fault(env, { endpoint: '/link/token/create', kind: 'slow', delay_ms: 15_000 })
    const token = await idpToken(tenant, 'RS256')
    await expectTimeoutAnswerWithin10s(env, token)
    expect(await jwksFetches(tenant)).toBe(1)
    expect(await emulator.calls(env)).toEqual({ '/link/token/create': 1 })
  }, 20_000)

  it('leaves other routes their own timeouts: a balance refresh may take longer than 10 s', async () => {
    const env = testEnv()
    const user = await newUser()
    await linkItem(env, user)
    await emulator.fault(env, { endpoint: '/accounts/balance/get', kind: 'slow', delay_ms: 10_500 })
    const res = await api.accounts(env, user.token, { query: { refresh: true } })
    expect(res.status).toBe(200)
    expect((await emulator.calls(env))['/accounts/balance/get']).toBe(1)
  }, 20_000)
})
