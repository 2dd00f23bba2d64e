/**
 * The emulated Link's browser calls (./emulator/link-ui/link-initialize.js makes them), and what
 * its tests share: link tokens, the emulator's Items, Link's answers and errors.
 */
import { expect } from 'vitest'
import { EMULATOR_URL, plaid, plaidError, type RequestOptions } from './plaid'

export type Answer = { status: number; body: Record<string, unknown> }

/** The origin of the web app that opens Link in these tests. */
export const APP_ORIGIN = 'http://127.0.0.1:8789'

/** One of Link's session calls, from a page on APP_ORIGIN. */
export async function link(
  step: 'open' | 'oauth' | 'complete',
  body: Record<string, unknown>,
  via: NonNullable<RequestOptions['via']> = fetch,
): Promise<Answer> {
  const response = await via(
    new Request(`${EMULATOR_URL}/link/session/${step}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: APP_ORIGIN },
      body: JSON.stringify(body),
    }),
  )
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

export async function linkToken(clientId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await plaid(clientId, '/link/token/create', {
    client_name: 'Linked Accounts',
    language: 'en',
    country_codes: ['US'],
    user: { client_user_id: 'user-123' },
    ...extra,
  })
  expect(created.status).toBe(200)
  return created.body.link_token as string
}

export async function controlItems(clientId: string): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${EMULATOR_URL}/emulator/items`, { headers: { 'PLAID-CLIENT-ID': clientId } })
  return ((await response.json()) as { items: Array<Record<string, unknown>> }).items
}

export const SESSION_ID = /^[0-9a-f-]{36}$/
export const REQUEST_ID = /^[A-Za-z0-9]{15}$/
// The accounts user_good has at every Sandbox bank, as Link's onSuccess metadata lists them.
export const DEFAULT_ACCOUNTS = [
  ['Plaid Checking', '0000', 'depository', 'checking'],
  ['Plaid Saving', '1111', 'depository', 'savings'],
  ['Plaid CD', '2222', 'depository', 'cd'],
  ['Plaid Credit Card', '3333', 'credit', 'credit card'],
].map(([name, mask, type, subtype]) => ({
  id: expect.stringMatching(/^[A-Za-z0-9]{37}$/),
  name,
  mask,
  type,
  subtype,
  verification_status: null,
}))

export const invalidLinkToken = (message: string) => plaidError(400, 'INVALID_INPUT', 'INVALID_LINK_TOKEN', message)
export const invalidCredentials = () => {
  const error = plaidError(400, 'ITEM_ERROR', 'INVALID_CREDENTIALS', 'the provided credentials were not correct')
  return {
    ...error,
    body: { ...error.body, display_message: 'The provided credentials were not correct. Please try again.' },
  }
}
