/**
 * The Plaid emulator's control plane (`/emulator/*`, see emulator/emulator.ts), scoped to the
 * test's Plaid client id: faults, Items changed "at Plaid", webhooks sent, calls counted.
 */

import type { ItemSummary, LinkTokenSummary, LiveTransaction, WebhookDelivery } from '../../emulator/control-types'
import type { FaultSpec } from '../../emulator/faults'
import { PLAID_VERSION } from '../../src/plaid/version'
import { WEBHOOK_URL } from './api'
import type { TestEnv } from './env'

export const EMULATOR_URL = 'http://plaid.test'

/** The emulator's control API, scoped to the test's Plaid client id. */
export const emulator = {
  /**
   * Plaid answers every call to `endpoint` (retries included) with this error, whose message is
   * `plaid says <code>`.
   */
  failEveryCall(env: TestEnv, endpoint: string, status: number, type: string, code: string): Promise<void> {
    return emulator.fault(env, {
      endpoint,
      kind: 'plaid_error',
      status,
      error_type: type,
      error_code: code,
      error_message: `plaid says ${code}`,
      times: 0,
    })
  },
  async fault(env: TestEnv, ...faults: FaultSpec[]): Promise<void> {
    const response = await fetch(`${EMULATOR_URL}/emulator/faults`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
      body: JSON.stringify(faults),
    })
    if (!response.ok) throw new Error(`emulator refused the fault: ${await response.text()}`)
  },
  /** A public token from the emulator's Sandbox endpoint, as Link's onSuccess would give. */
  async publicToken(
    env: TestEnv,
    institutionId = 'ins_109508',
    { accounts }: { accounts?: SandboxAccount[] } = {},
  ): Promise<string> {
    const data = await emulatorPost(env, '/sandbox/public_token/create', {
      institution_id: institutionId,
      initial_products: ['transactions', 'auth'],
      options: {
        webhook: WEBHOOK_URL,
        // Plaid Sandbox's custom user: a login whose accounts the test chooses.
        ...(accounts && {
          override_username: 'user_custom',
          override_password: JSON.stringify({
            override_accounts: accounts.map(({ name, mask, type = 'depository', subtype = 'checking' }) => ({
              type,
              subtype,
              starting_balance: 500,
              meta: { name, mask },
            })),
          }),
        }),
      },
    })
    return data.public_token as string
  },
  /** What Link's onSuccess gives after the user finishes Link with this link token at the institution. */
  async finishLink(env: TestEnv, linkToken: string, institutionId = 'ins_109508'): Promise<string> {
    const response = await fetch(`${EMULATOR_URL}/emulator/link-tokens/${linkToken}/finish`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
      body: JSON.stringify({ institution_id: institutionId }),
    })
    if (!response.ok) throw new Error(`emulator refused to finish Link: ${await response.text()}`)
    return ((await response.json()) as { public_token: string }).public_token
  },
  /** The emulator's view of this test's Items (removed ones included). */
  async items(env: TestEnv): Promise<EmulatedItem[]> {
    const response = await fetch(`${EMULATOR_URL}/emulator/items`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    const data = (await response.json()) as { items: EmulatedItem[] }
    return data.items
  },
  /** Puts the Item into ITEM_LOGIN_REQUIRED, as a changed bank password would. */
  async requireLogin(env: TestEnv, itemId: string): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/login-required`)
  },
  /** Removes the Item at Plaid by other means than this API's /item/remove call. */
  async removeAtPlaid(env: TestEnv, itemId: string): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/remove`)
  },
  /** Makes Plaid report the Item with no institution (as for Same Day Micro-deposits Items). */
  async withoutInstitution(env: TestEnv, itemId: string): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/without-institution`)
  },
  /** What finishing Link's update mode does at Plaid. */
  async repair(env: TestEnv, itemId: string): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/repair`)
  },
  /**
   * Appends transaction events to the Item's history at Plaid, optionally announcing them by
   * webhook; `post` settles that many pending transactions as Plaid does (see emulator/transactions.ts).
   */
  async changeTransactions(
    env: TestEnv,
    itemId: string,
    change: { add?: number; modify?: number; remove?: number; post?: number; fire_webhook?: boolean },
  ): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/transactions`, change)
  },
  /** The transactions Plaid holds for the Item now: what a correct sync must end with. */
  async liveTransactions(env: TestEnv, itemId: string): Promise<PlaidTransaction[]> {
    const response = await fetch(`${EMULATOR_URL}/emulator/items/${itemId}/transactions`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return ((await response.json()) as { transactions: PlaidTransaction[] }).transactions
  },
  async setTransactionsReady(env: TestEnv, itemId: string, ready: boolean): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/transactions-ready`, { ready })
  },
  /** Webhooks the emulator has sent since the last call (and forgets them). */
  async webhooks(env: TestEnv): Promise<WebhookDelivery[]> {
    const response = await fetch(`${EMULATOR_URL}/emulator/webhooks`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return ((await response.json()) as { webhooks: WebhookDelivery[] }).webhooks
  },
  /** A Plaid-Verification header for `body`, signed with this client's key, with overrides for forgeries. */
  async sign(
    env: TestEnv,
    body: string,
    overrides: { iat?: number; kid?: string; alg?: string; key?: 'current' | 'previous' } = {},
  ): Promise<string> {
    const response = await fetch(`${EMULATOR_URL}/emulator/webhooks/sign`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
      body: JSON.stringify({ body, ...overrides }),
    })
    if (!response.ok) throw new Error(`emulator refused to sign: ${await response.text()}`)
    return ((await response.json()) as { verification: string }).verification
  },
  /** Plaid's /sandbox/item/fire_webhook for the Item, by item id (the emulator knows its token). */
  async fireWebhook(env: TestEnv, itemId: string, code: string): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/fire-webhook`, { webhook_code: code })
  },
  /** How often each key_id (known or made up) was asked for at /webhook_verification_key/get. */
  async keyLookups(env: TestEnv): Promise<Record<string, number>> {
    const response = await fetch(`${EMULATOR_URL}/emulator/webhook-keys`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return ((await response.json()) as { lookups: Record<string, number> }).lookups
  },
  async rotateWebhookKey(env: TestEnv, expirePrevious: boolean): Promise<void> {
    await emulatorControl(env, '/emulator/webhook-keys/rotate', { expire_previous: expirePrevious })
  },
  async clearFaults(env: TestEnv): Promise<void> {
    await fetch(`${EMULATOR_URL}/emulator/faults`, {
      method: 'DELETE',
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
  },
  /** The link tokens Plaid issued to this client, and what each is for. */
  async linkTokens(env: TestEnv): Promise<EmulatedLinkToken[]> {
    const response = await fetch(`${EMULATOR_URL}/emulator/link-tokens`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return ((await response.json()) as { link_tokens: EmulatedLinkToken[] }).link_tokens
  },
  /** How many times each Plaid path was called for this test's client id. */
  async calls(env: TestEnv): Promise<Record<string, number>> {
    const response = await fetch(`${EMULATOR_URL}/emulator/calls`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return response.json()
  },
}

export type EmulatedLinkToken = LinkTokenSummary

/** An account of a Sandbox custom user (Plaid's override_accounts, reduced to what tests vary). */
export type SandboxAccount = { name: string; mask: string; type?: string; subtype?: string }

export type { WebhookDelivery }
/** A transaction the emulator holds for an Item now. */
export type PlaidTransaction = LiveTransaction

/** An Item as the emulator holds it; `access_token` is Plaid's own copy, for checking this API never shows or stores it in clear. */
export type EmulatedItem = ItemSummary

async function emulatorPost(env: TestEnv, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${EMULATOR_URL}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID,
      'PLAID-SECRET': env.PLAID_SECRET as string,
      'Plaid-Version': PLAID_VERSION,
    },
    body: JSON.stringify(body),
  })
  const data = (await response.json()) as Record<string, unknown>
  if (!response.ok) throw new Error(`emulator ${path} failed: ${JSON.stringify(data)}`)
  return data
}

async function emulatorControl(env: TestEnv, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${EMULATOR_URL}${path}`, {
    method: 'POST',
    headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`emulator ${path} failed: ${response.status} ${await response.text()}`)
}
