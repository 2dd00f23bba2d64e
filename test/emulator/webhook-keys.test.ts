import { describe, expect, it } from 'vitest'
import { EMULATOR_URL, newClientId, plaid, plaidError } from './plaid'

type KeysView = { keys: Array<{ kid: string; expired_at: number | null }>; lookups: Record<string, number> }

async function webhookKeys(clientId: string): Promise<KeysView> {
  const response = await fetch(`${EMULATOR_URL}/emulator/webhook-keys`, { headers: { 'PLAID-CLIENT-ID': clientId } })
  return response.json()
}

async function rotate(clientId: string): Promise<string> {
  const response = await fetch(`${EMULATOR_URL}/emulator/webhook-keys/rotate`, {
    method: 'POST',
    headers: { 'PLAID-CLIENT-ID': clientId },
    body: JSON.stringify({ expire_previous: false }),
  })
  return ((await response.json()) as { key: { kid: string } }).key.kid
}

describe('/webhook_verification_key/get lookups (control API: GET /emulator/webhook-keys)', () => {
  it('counts the lookups of each key_id, known or made up, per client id', async () => {
    const clientId = newClientId()
    const first = await rotate(clientId)
    const second = await rotate(clientId)
    expect((await webhookKeys(clientId)).lookups).toEqual({})

    for (const kid of [first, second, second]) {
      const answer = await plaid(clientId, '/webhook_verification_key/get', { key_id: kid })
      expect(answer.status).toBe(200)
      expect((answer.body.key as { kid: string }).kid).toBe(kid)
    }
    expect(await plaid(clientId, '/webhook_verification_key/get', { key_id: 'made-up' })).toEqual(
      plaidError(400, 'INVALID_INPUT', 'INVALID_WEBHOOK_VERIFICATION_KEY_ID', 'invalid key_id provided'),
    )

    const view = await webhookKeys(clientId)
    expect(view.keys.map((k) => k.kid)).toContain(second)
    expect(view.lookups).toEqual({ [first]: 1, [second]: 2, 'made-up': 1 })
    // Another client's lookups are its own.
    expect((await webhookKeys(newClientId())).lookups).toEqual({})
  })

  it('counts each of many concurrent lookups of one key', async () => {
    const clientId = newClientId()
    const kid = await rotate(clientId)
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => plaid(clientId, '/webhook_verification_key/get', { key_id: kid })),
    )
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200))
    expect((await webhookKeys(clientId)).lookups).toEqual({ [kid]: 20 })
  })
})
