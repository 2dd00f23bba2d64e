import { afterEach, describe, expect, it, vi } from 'vitest'
import { call } from '../helpers/api'
import { testEnv } from '../helpers/env'
import { mintToken } from '../helpers/tokens'

describe('the JWT_SECRET key', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('is imported once per isolate and settings, not on every request', async () => {
    const env = testEnv()
    const importKey = vi.spyOn(crypto.subtle, 'importKey')
    const verifyKeys = () => importKey.mock.calls.filter(([, , , , usages]) => usages.includes('verify')).length
    for (const user of ['hmac-key-a', 'hmac-key-b', 'hmac-key-a']) {
      const res = await call(env, 'GET', '/api/v1/banking/items', { token: await mintToken({ sub: user }) })
      expect(res.status).toBe(200)
    }
    expect(verifyKeys()).toBe(1)
  })
})
