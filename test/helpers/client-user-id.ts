import type { Bindings } from '../../src/config'

/**
 * The client_user_id Plaid must get for `userId` under this env: HMAC-SHA256 of the id, keyed
 * with PLAID_CLIENT_USER_ID_KEY, in lower-case hex. Worked out here with WebCrypto alone, not
 * with the Worker's code, so a test compares the Worker with the rule rather than with itself.
 */
export async function expectedClientUserId(env: Bindings, userId: string): Promise<string> {
  const raw = Uint8Array.from(atob(env.PLAID_CLIENT_USER_ID_KEY as string), (c) => c.charCodeAt(0))
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(userId)))
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')
}
