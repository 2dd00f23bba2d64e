import { describe, expect, it } from 'vitest'
import { api } from './helpers/api'
import { testEnv } from './helpers/env'
import { newUser } from './helpers/linking'
import { captureLogs } from './helpers/logs'
import { STORE_FAILURE, unavailableUserStore } from './helpers/user-store'

describe('error handler', () => {
  it('logs an unexpected error under its own key, keeping the line its own message, and tells the caller nothing', async () => {
    const failure = STORE_FAILURE
    const brokenStore = unavailableUserStore()
    const user = await newUser()
    const { result: res, logs } = await captureLogs(() => api.items(testEnv({ USER_STORE: brokenStore }), user.token))
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ detail: 'Failed to list items: internal error' })
    expect(res.text).not.toContain('SQLITE_ERROR')
    const lines = logs.split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'error',
      message: 'request failed',
      method: 'GET',
      route: '/api/v1/banking/items',
      status: 500,
      error: 'Error',
      error_message: failure,
    })
  })
})
