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
  /** How many times each Plaid path was called for this test's client id. */
  async calls(env: TestEnv): Promise<Record<string, number>> {
    const response = await fetch(`${EMULATOR_URL}/emulator/calls`, {
      headers: { 'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID },
    })
    return response.json()
  },
}
