/**
 * Drives the Worker through its front door (`worker.fetch`) with a per-test environment: each
 * test gets its own Plaid client id, which the emulator treats as a separate Plaid team, so
 * faults and Items never leak between tests running in parallel.
 */

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import type { FaultSpec } from '../../emulator/faults'
import type { Bindings } from '../../src/env'
import worker from '../../src/index'

export const EMULATOR_URL = 'http://plaid.test'

export type TestEnv = Bindings & { PLAID_CLIENT_ID: string }

export function testEnv(overrides: Partial<Bindings> = {}): TestEnv {
  return { ...baseEnv, PLAID_CLIENT_ID: `test-client-${crypto.randomUUID()}`, ...overrides } as TestEnv
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
  async fault(env: TestEnv, ...faults: FaultSpec[]): Promise<void> {
    const response = await fetch(`${EMULATOR_URL}/emulator/faults`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
      body: JSON.stringify(faults),
    })
    if (!response.ok) throw new Error(`emulator refused the fault: ${await response.text()}`)
  },
  /** A public token from the emulator's Sandbox endpoint, as Link's onSuccess would give. */
  async publicToken(env: TestEnv, institutionId = 'ins_109508'): Promise<string> {
    const data = await emulatorPost(env, '/sandbox/public_token/create', {
      institution_id: institutionId,
      initial_products: ['transactions', 'auth'],
    })
    return data.public_token as string
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
  /** What finishing Link's update mode does at Plaid. */
  async repair(env: TestEnv, itemId: string): Promise<void> {
    await emulatorControl(env, `/emulator/items/${itemId}/repair`)
  },
  /** How many times each Plaid path was called for this test's client id. */
  async calls(env: TestEnv): Promise<Record<string, number>> {
    const response = await fetch(`${EMULATOR_URL}/emulator/calls`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return response.json()
  },
}

export type EmulatedItem = { item_id: string; institution_id: string; removed: boolean; login_required: boolean }

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

async function emulatorControl(env: TestEnv, path: string): Promise<void> {
  const response = await fetch(`${EMULATOR_URL}${path}`, {
    method: 'POST',
    headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
  })
  if (!response.ok) throw new Error(`emulator ${path} failed: ${response.status} ${await response.text()}`)
}
