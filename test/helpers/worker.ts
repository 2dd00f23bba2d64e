/**
 * Drives the Worker through its front door (`worker.fetch`) with a per-test environment: each
 * test gets its own Plaid client id, which the emulator treats as a separate Plaid team, so
 * faults and Items never leak between tests running in parallel.
 */

import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import type { FaultSpec } from '../../emulator/faults'
import type { Bindings } from '../../src/config'
import worker from '../../src/index'
import type { WebhookJob } from '../../src/queue/jobs'

export const EMULATOR_URL = 'http://plaid.test'
/** Where Items created in tests send their webhooks: this API's webhook route. */
export const WEBHOOK_URL = 'https://api.example.com/api/v1/banking/webhooks'

export type TestEnv = Bindings & { PLAID_CLIENT_ID: string }

/**
 * A WEBHOOK_QUEUE that keeps what the Worker sends, for the test to hand to the Worker's queue()
 * handler with its own env (runQueue). The real queue's consumer runs with the Worker's own
 * bindings, and so with another Plaid client id than the test's.
 */
export class RecordingQueue {
  readonly jobs: WebhookJob[] = []
  async send(job: WebhookJob): Promise<void> {
    this.jobs.push(structuredClone(job))
  }
  async sendBatch(messages: Iterable<{ body: WebhookJob }>): Promise<void> {
    for (const { body } of messages) this.jobs.push(structuredClone(body))
  }
}

export function testEnv(overrides: Partial<Bindings> = {}): TestEnv {
  return {
    ...baseEnv,
    PLAID_CLIENT_ID: `test-client-${crypto.randomUUID()}`,
    WEBHOOK_QUEUE: new RecordingQueue() as unknown as Queue<WebhookJob>,
    ...overrides,
  } as TestEnv
}

/** The jobs the Worker has queued with this env and no test has run yet. */
export function queuedJobs(env: Bindings): WebhookJob[] {
  const queue = env.WEBHOOK_QUEUE as unknown
  if (!(queue instanceof RecordingQueue)) throw new Error('this env uses the real queue, not a RecordingQueue')
  return queue.jobs
}

/**
 * Hands every queued job to the Worker's queue() handler, with this env, until none is left;
 * answers what the consumer did with the jobs (none retried, unless `allowRetries`).
 */
export async function runQueue(
  env: Bindings,
  { allowRetries = false } = {},
): Promise<{ ran: WebhookJob[]; retried: WebhookJob[] }> {
  const jobs = queuedJobs(env)
  const ran: WebhookJob[] = []
  const retried: WebhookJob[] = []
  while (jobs.length > 0) {
    const messages = jobs.splice(0, jobs.length).map((body, i) => ({ id: `job-${ran.length + i}`, body }))
    const batch = createMessageBatch<WebhookJob>(
      'plaid-webhooks',
      messages.map(({ id, body }) => ({ id, timestamp: new Date(), attempts: 1, body })),
    )
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    const result = await getQueueResult(batch, ctx)
    const retriedIds = new Set(result.retryMessages.map((m: { msgId: string }) => m.msgId))
    ran.push(...messages.map((m) => m.body))
    retried.push(...messages.filter((m) => retriedIds.has(m.id)).map((m) => m.body))
  }
  if (retried.length > 0 && !allowRetries) throw new Error('the queue consumer asked for a retry')
  return { ran, retried }
}

export type CallOptions = { token?: string; body?: unknown; headers?: Record<string, string> }
export type CallResult = { status: number; headers: Headers; body: Record<string, unknown>; text: string }

export async function call(
  env: Bindings,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const headers = new Headers(options.headers)
  if (options.token !== undefined) headers.set('Authorization', `Bearer ${options.token}`)
  let body: string | undefined
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json')
  }
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(`https://api.example.com${path}`, { method, headers, body }),
    env,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  const text = await response.text()
  let json: Record<string, unknown> = {}
  try {
    json = text ? JSON.parse(text) : {}
  } catch {
    json = {}
  }
  return { status: response.status, headers: response.headers, body: json, text }
}

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
  /** How many times each Plaid path was called for this test's client id. */
  /** The link tokens Plaid issued to this client, and what each is for. */
  async linkTokens(env: TestEnv): Promise<EmulatedLinkToken[]> {
    const response = await fetch(`${EMULATOR_URL}/emulator/link-tokens`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return ((await response.json()) as { link_tokens: EmulatedLinkToken[] }).link_tokens
  },
  async calls(env: TestEnv): Promise<Record<string, number>> {
    const response = await fetch(`${EMULATOR_URL}/emulator/calls`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return response.json()
  },
}

export type EmulatedLinkToken = {
  link_token: string
  client_user_id: string
  webhook: string | null
  redirect_uri: string | null
  item_id: string | null
  country_codes: string[]
  products: string[]
  /** null: the request did not have the field. */
  required_if_supported_products: string[] | null
  optional_products: string[] | null
  additional_consented_products: string[] | null
  account_selection_enabled: boolean
  /** `transactions.days_requested` as sent; null when not sent. */
  days_requested: number | null
}

/** An account of a Sandbox custom user (Plaid's override_accounts, reduced to what tests vary). */
export type SandboxAccount = { name: string; mask: string; type?: string; subtype?: string }

export type WebhookDelivery = { url: string; headers: Record<string, string>; body: string }
export type PlaidTransaction = {
  transaction_id: string
  account_id: string
  amount: number
  date: string
  pending: boolean
  pending_transaction_id: string | null
}

/** Delivers a webhook the emulator sent, through the Worker's front door, exactly as sent. */
export function deliver(env: Bindings, delivery: WebhookDelivery): Promise<CallResult> {
  const url = new URL(delivery.url)
  return call(env, 'POST', url.pathname, { headers: delivery.headers, body: delivery.body })
}

/**
 * Delivers a webhook through the front door and then hands what it queued to the Worker's
 * queue() handler, with this test's env throughout.
 */
export async function deliverAndConsume(env: TestEnv, delivery: WebhookDelivery): Promise<void> {
  const res = await deliver(env, delivery)
  if (res.status !== 200) throw new Error(`webhook refused: ${res.status} ${res.text}`)
  await runQueue(env)
}

export type EmulatedItem = {
  item_id: string
  institution_id: string
  /** The products the Item was initialized with. */
  products: string[]
  /** Plaid's own copy, for checking that this API never shows or stores it in clear. */
  access_token: string | null
  /** Where Plaid sends the Item's webhooks. */
  webhook: string | null
  removed: boolean
  /** Whether /transactions/sync has been called on it (Plaid's condition for SYNC_UPDATES_AVAILABLE). */
  sync_called: boolean
  login_required: boolean
  /** The accounts Plaid reports for the Item now. */
  account_ids: string[]
}

async function emulatorPost(env: TestEnv, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${EMULATOR_URL}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID,
      'PLAID-SECRET': env.PLAID_SECRET as string,
      'Plaid-Version': '2020-09-14',
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
