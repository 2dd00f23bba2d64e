import { describe, expect } from 'vitest'
import { api } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { testEnv } from '../helpers/env'
import { it } from '../helpers/fixtures'
import { newUser } from '../helpers/linking'

const REQUEST_ID = expect.stringMatching(/^[A-Za-z0-9]{15}$/)

/** Plaid's errors as Plaid's error guide gives them: HTTP status, error_type, error_code. */
const transient: [status: number, type: string, code: string][] = [
  [400, 'INSTITUTION_ERROR', 'INSTITUTION_DOWN'],
  [400, 'INSTITUTION_ERROR', 'INSTITUTION_NOT_RESPONDING'],
  [400, 'INSTITUTION_ERROR', 'INSTITUTION_NOT_AVAILABLE'],
  [500, 'API_ERROR', 'INTERNAL_SERVER_ERROR'],
  [503, 'API_ERROR', 'PLANNED_MAINTENANCE'],
]
const lasting: [status: number, type: string, code: string][] = [
  [400, 'INVALID_REQUEST', 'INVALID_FIELD'],
  [400, 'INVALID_INPUT', 'INVALID_API_KEYS'],
  [400, 'INSTITUTION_ERROR', 'INSTITUTION_NO_LONGER_SUPPORTED'],
  [400, 'ITEM_ERROR', 'ITEM_LOGIN_REQUIRED'],
]

/** POST link-token with Plaid answering this error to every attempt (the call is retried on passing ones). */
async function linkTokenFailing(status: number, type: string, code: string) {
  const env = testEnv()
  await emulator.failEveryCall(env, '/link/token/create', status, type, code)
  const { token } = await newUser()
  return api.linkToken(env, token)
}

describe('Plaid errors say whether trying again can help', () => {
  it('answers Plaid’s rate limit with 400, retryable, and Retry-After: Plaid’s one-minute window', async () => {
    const res = await linkTokenFailing(429, 'RATE_LIMIT_EXCEEDED', 'RATE_LIMIT')
    expect(res.status).toBe(400)
    expect(res.body).toEqual({
      detail: 'Failed to create link token: plaid says RATE_LIMIT',
      error_type: 'RATE_LIMIT_EXCEEDED',
      error_code: 'RATE_LIMIT',
      retryable: true,
      request_id: REQUEST_ID,
    })
    expect(res.headers.get('Retry-After')).toBe('60')
  })

  it('takes any RATE_LIMIT_EXCEEDED for a rate limit, whatever its code', async () => {
    const res = await linkTokenFailing(429, 'RATE_LIMIT_EXCEEDED', 'ACCOUNTS_LIMIT')
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ error_code: 'ACCOUNTS_LIMIT', retryable: true })
    expect(res.headers.get('Retry-After')).toBe('60')
  })

  it.each([
    ...transient.map((error) => [...error, true] as const),
    ...lasting.map((error) => [...error, false] as const),
  ])('answers %i %s/%s with 400 and retryable: %s, without Retry-After', async (status, type, code, retryable) => {
    const res = await linkTokenFailing(status, type, code)
    expect(res.status).toBe(400)
    expect(res.body).toEqual({
      detail: `Failed to create link token: plaid says ${code}`,
      error_type: type,
      error_code: code,
      retryable,
      request_id: REQUEST_ID,
    })
    expect(res.headers.get('Retry-After')).toBeNull()
  })

  it('answers an Item that needs its login with retryable: false (update mode, not a retry)', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.requireLogin(env, itemId)
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ error_code: 'ITEM_LOGIN_REQUIRED', error_type: 'ITEM_ERROR', retryable: false })
  })

  it('answers a sync whose pages Plaid kept changing with retryable: true (a later sync starts afresh)', async ({
    linked: { env, user, itemId },
  }) => {
    await emulator.fault(env, {
      endpoint: '/transactions/sync',
      kind: 'plaid_error',
      error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION',
      times: 0,
    })
    const res = await api.sync(env, user.token, itemId)
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({
      error_type: 'TRANSACTIONS_ERROR',
      error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION',
      retryable: true,
    })
  })

  it('lets the frontend read Retry-After from its own origin', async () => {
    const env = testEnv({ ALLOWED_ORIGINS: 'https://app.example.com' })
    await emulator.fault(env, {
      endpoint: '/link/token/create',
      kind: 'plaid_error',
      status: 429,
      error_type: 'RATE_LIMIT_EXCEEDED',
      error_code: 'RATE_LIMIT',
      times: 0,
    })
    const { token } = await newUser()
    const res = await api.linkToken(env, token, { headers: { Origin: 'https://app.example.com' } })
    expect(res.status).toBe(400)
    expect(res.headers.get('Retry-After')).toBe('60')
    expect(res.headers.get('Access-Control-Expose-Headers')?.split(/,\s*/)).toContain('Retry-After')
  })
})
