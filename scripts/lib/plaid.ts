/** Calls to Plaid or the emulator as the Worker's Plaid client makes them, and to the emulator's control API. */
import { EMULATOR_SECRET } from '../../src/dev-defaults'
import { PLAID_VERSION } from '../../src/plaid/version'

/**
 * Where the emulator is and the Plaid client id to call it with: the one the Worker uses, since
 * the emulator keeps Items and webhook signing keys per client id. A Stack is one.
 */
export type EmulatorClient = { emulatorUrl: string; clientId: string }

/** The headers of a Plaid API call. */
export const plaidHeaders = (clientId: string, secret: string) => ({
  'Content-Type': 'application/json',
  'PLAID-CLIENT-ID': clientId,
  'PLAID-SECRET': secret,
  'Plaid-Version': PLAID_VERSION,
})

/** A Plaid endpoint on the emulator, called as the Worker's Plaid client; throws unless 2xx. */
export async function plaidCall(client: EmulatorClient, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${client.emulatorUrl}${path}`, {
    method: 'POST',
    headers: plaidHeaders(client.clientId, EMULATOR_SECRET),
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`emulator ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** What Link's onSuccess would give the frontend, from the emulated Sandbox; the Item's webhooks go to `webhook`. */
export async function sandboxPublicToken(client: EmulatorClient, institutionId: string, webhook?: string) {
  const data = await plaidCall(client, '/sandbox/public_token/create', {
    institution_id: institutionId,
    initial_products: ['transactions', 'auth'],
    ...(webhook === undefined ? {} : { options: { webhook } }),
  })
  if (typeof data.public_token !== 'string') throw new Error('emulator gave no public_token')
  return data.public_token
}

/** The emulator's control API (`/emulator${path}`), under the client's id. */
export async function emulatorControl(
  client: EmulatorClient,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${client.emulatorUrl}/emulator${path}`, {
    method,
    headers: { 'PLAID-CLIENT-ID': client.clientId },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

/** emulatorControl's answer body; throws unless the status is 2xx. */
export async function emulatorControlOk<T>(
  client: EmulatorClient,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await emulatorControl(client, method, path, body)
  if (res.status >= 300)
    throw new Error(`emulator ${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body as T
}
