import { describe, expect, it } from 'vitest'
import { EMULATOR_URL, linkedItem, newClientId, plaid } from './plaid'

const arm = (clientId: string, fault: Record<string, unknown>) =>
  fetch(`${EMULATOR_URL}/emulator/faults`, {
    method: 'POST',
    headers: { 'PLAID-CLIENT-ID': clientId },
    body: JSON.stringify(fault),
  })

describe('faults for one access token', () => {
  it("fails only that Item's calls, and waits for its call however many others come first", async () => {
    const clientId = newClientId()
    const busy = await linkedItem(clientId)
    const other = await linkedItem(clientId)
    const armed = await arm(clientId, {
      endpoint: '/accounts/get',
      kind: 'plaid_error',
      error_type: 'API_ERROR',
      error_code: 'INTERNAL_SERVER_ERROR',
      status: 500,
      access_token: busy.accessToken,
    })
    expect(armed.status).toBe(200)
    for (let call = 0; call < 3; call++) {
      expect((await plaid(clientId, '/accounts/get', { access_token: other.accessToken })).status).toBe(200)
    }
    const failed = await plaid(clientId, '/accounts/get', { access_token: busy.accessToken })
    expect(failed.status).toBe(500)
    expect(failed.body.error_code).toBe('INTERNAL_SERVER_ERROR')
    // times defaults to 1: the next call for that Item is answered again.
    expect((await plaid(clientId, '/accounts/get', { access_token: busy.accessToken })).status).toBe(200)
  })

  it('refuses an access_token that is not a string', async () => {
    const res = await arm(newClientId(), { endpoint: '/accounts/get', kind: 'slow', access_token: 42 })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'access_token must be a string' })
  })
})
