/**
 * Reading the webhooks the emulator sent and checking their signatures as a receiver must, for the
 * tests that pin which webhooks the emulator sends, where, and how they are signed.
 */
import { expect } from 'vitest'
import { EMULATOR_URL, plaid } from './plaid'

export type Delivery = { url: string; headers: Record<string, string>; body: string }

/** The webhooks sent for this client id since the last call (the emulator forgets them). */
export async function outbox(clientId: string): Promise<Delivery[]> {
  const response = await fetch(`${EMULATOR_URL}/emulator/webhooks`, { headers: { 'PLAID-CLIENT-ID': clientId } })
  return ((await response.json()) as { webhooks: Delivery[] }).webhooks
}

const fromBase64Url = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
const decode = (part: string) => JSON.parse(new TextDecoder().decode(fromBase64Url(part))) as Record<string, unknown>
const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * Checks a Plaid-Verification header the way Plaid tells receivers to: the key named by `kid`
 * comes from /webhook_verification_key/get, the ES256 signature must hold, and the body's SHA-256
 * must be the one signed.
 */
export async function verify(clientId: string, delivery: Delivery): Promise<void> {
  const [header = '', payload = '', signature = ''] = (delivery.headers['Plaid-Verification'] ?? '').split('.')
  const { alg, kid } = decode(header)
  expect(alg).toBe('ES256')
  const { body } = await plaid(clientId, '/webhook_verification_key/get', { key_id: kid })
  const key = await crypto.subtle.importKey(
    'jwk',
    body.key as JsonWebKey,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  )
  const signed = new TextEncoder().encode(`${header}.${payload}`)
  expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, fromBase64Url(signature), signed)).toBe(
    true,
  )
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(delivery.body))
  expect(decode(payload).request_body_sha256).toBe(hex(digest))
}
