/**
 * Talks to the emulator as a Plaid client would (no Worker in between), so the tests in this folder
 * pin down the emulator's own behaviour: the answers the rest of the suite relies on being Plaid's.
 */
import { expect } from 'vitest'
import { createEmulator, type Emulator } from '../../emulator/emulator'
import { EMULATOR_SECRET } from '../../src/dev-defaults'
import { PLAID_VERSION } from '../../src/plaid/version'

export const EMULATOR_URL = 'http://plaid.test'
export const WEBHOOK_URL = 'https://api.example.com/api/v1/banking/webhooks'

/**
 * Marks a request that breaks Plaid's contract on purpose (an unknown field, a missing header...).
 * Every Plaid exchange is recorded for scripts/check-contract.ts, which would otherwise count these
 * as the client's mistakes; it checks instead that such a request really breaks the spec, and still
 * validates the emulator's answer.
 */
export const MALFORMED_HEADER = 'X-Contract-Malformed'

export type PlaidAnswer = { status: number; body: Record<string, unknown> }
export type RequestOptions = {
  /** Header values replacing Plaid's usual ones; null leaves that header out. */
  headers?: Record<string, string | null>
  /** Sent as is instead of the JSON of `body`. */
  rawBody?: string
  /** Why the request is malformed (see MALFORMED_HEADER). */
  malformed?: string
  /** Another emulator than the shared one (e.g. one with its own clock); default: fetch. */
  via?: (request: Request) => Response | Promise<Response>
}

/**
 * An emulator of its own in this isolate, with a clock the test moves: the shared one keeps real
 * time, and a public token lives 30 minutes.
 */
export function emulatorWithClock(now: () => number): Emulator {
  return createEmulator({ now })
}

/** A client id of its own, so the emulator keeps this test's Items apart (Plaid: a team). */
export const newClientId = () => `emulator-test-${crypto.randomUUID()}`

export async function plaid(
  clientId: string,
  path: string,
  body: unknown,
  options: RequestOptions = {},
): Promise<PlaidAnswer> {
  const headers: Record<string, string | null> = {
    'Content-Type': 'application/json',
    'PLAID-CLIENT-ID': clientId,
    'PLAID-SECRET': EMULATOR_SECRET,
    'Plaid-Version': PLAID_VERSION,
    ...options.headers,
  }
  if (options.malformed !== undefined) headers[MALFORMED_HEADER] = options.malformed
  const sent = Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== null),
  )
  const request = new Request(`${EMULATOR_URL}${path}`, {
    method: 'POST',
    headers: sent,
    body: options.rawBody ?? JSON.stringify(body),
  })
  const response = await (options.via ?? fetch)(request)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** A Sandbox Item with its access token, made the way Link plus an exchange would. */
export async function linkedItem(
  clientId: string,
  { products = ['transactions', 'auth'], webhook = WEBHOOK_URL as string | null } = {},
): Promise<{ accessToken: string; itemId: string }> {
  const created = await plaid(clientId, '/sandbox/public_token/create', {
    institution_id: 'ins_109508',
    initial_products: products,
    ...(webhook !== null && { options: { webhook } }),
  })
  expect(created.status).toBe(200)
  const exchanged = await plaid(clientId, '/item/public_token/exchange', { public_token: created.body.public_token })
  expect(exchanged.status).toBe(200)
  return { accessToken: exchanged.body.access_token as string, itemId: exchanged.body.item_id as string }
}

export async function removeItem(clientId: string, accessToken: string): Promise<void> {
  expect((await plaid(clientId, '/item/remove', { access_token: accessToken })).status).toBe(200)
}

/**
 * The whole answer Plaid gives for an error: its documented fields and nothing else. The message
 * is matched too, since for validation errors it names the fields, which clients show to developers.
 */
export function plaidError(status: number, errorType: string, errorCode: string, errorMessage: string | RegExp | null) {
  return {
    status,
    body: {
      display_message: null,
      documentation_url: expect.stringMatching(/^https:\/\/plaid\.com\/docs\//),
      error_code: errorCode,
      error_code_reason: null,
      error_message: errorMessage instanceof RegExp ? expect.stringMatching(errorMessage) : errorMessage,
      error_type: errorType,
      // Plaid's request ids: 15 letters and digits, e.g. HNTDNrA8F1shFEW.
      request_id: expect.stringMatching(/^[A-Za-z0-9]{15}$/),
      suggested_action: null,
    },
  }
}
