import { describe, expect, it } from 'vitest'
import { createEmulator } from '../../emulator/emulator'
import * as snapshot from '../../emulator/snapshot'
import { newClientId, type PlaidAnswer, plaid, WEBHOOK_URL } from './plaid'

type Fetch = (request: Request) => Response | Promise<Response>
type StateFile = {
  loadStateFile(path: string): Promise<Map<string, unknown>>
  writeStateFile(path: string, state: unknown): void
}

/**
 * Emulators of their own in this isolate, and the functions that save and restore one. Reading and
 * writing the file is Node code (node:fs) that this folder's workers type-check has no types for,
 * hence a specifier tsc leaves alone for that module alone.
 */
async function load() {
  const stateFile = '../../emulator/persist'
  const file = (await import(/* @vite-ignore */ stateFile)) as StateFile
  return { createEmulator: () => createEmulator({ webhookOutbox: true }), persist: { ...snapshot, ...file } }
}

/** An answer without its request_id, which differs on every call. */
const withoutRequestId = ({ status, body }: PlaidAnswer) => {
  const { request_id, ...rest } = body
  expect(request_id).toEqual(expect.any(String))
  return { status, body: rest }
}

async function control(via: Fetch, clientId: string, path: string, body?: unknown) {
  const response = await via(
    new Request(`http://plaid.test/emulator${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'PLAID-CLIENT-ID': clientId },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  )
  expect(response.status, path).toBe(200)
  return (await response.json()) as Record<string, unknown>
}

/**
 * A tenant with what the README's walk-through leaves behind and more: two Items, one removed and
 * one in ITEM_LOGIN_REQUIRED, transactions added, modified, removed and posted after a first sync, a
 * rotated webhook key, an unused public token and a link token.
 */
async function populate(via: Fetch, clientId: string) {
  const call = (path: string, body: unknown) => plaid(clientId, path, body, { via })
  const link = async (institution: string) => {
    const created = await call('/sandbox/public_token/create', {
      institution_id: institution,
      initial_products: ['transactions', 'auth'],
      options: { webhook: WEBHOOK_URL },
    })
    const exchanged = await call('/item/public_token/exchange', { public_token: created.body.public_token })
    expect(exchanged.status).toBe(200)
    return { accessToken: exchanged.body.access_token as string, itemId: exchanged.body.item_id as string }
  }
  const kept = await link('ins_109508')
  const removed = await link('ins_109509')
  expect((await call('/item/remove', { access_token: removed.accessToken })).status).toBe(200)

  const first = await call('/transactions/sync', { access_token: kept.accessToken, count: 10 })
  expect(first.status).toBe(200)
  await control(via, clientId, `/items/${kept.itemId}/transactions`, { add: 30, modify: 4, remove: 3 })
  // Postings of pending transactions are changes too (the new activity has some pending, mostly).
  const held = (await control(via, clientId, `/items/${kept.itemId}/transactions`)) as {
    transactions: { pending: boolean }[]
  }
  const pending = held.transactions.filter((t) => t.pending).length
  await control(via, clientId, `/items/${kept.itemId}/transactions`, { post: Math.min(pending, 2) })
  await control(via, clientId, `/items/${kept.itemId}/login-required`, {})
  await control(via, clientId, '/webhook-keys/rotate', { expire_previous: true })
  const unused = await call('/sandbox/public_token/create', {
    institution_id: 'ins_109510',
    initial_products: ['auth'],
  })
  expect((await call('/link/token/create', linkTokenRequest)).status).toBe(200)
  return { kept, removed, cursor: first.body.next_cursor as string, unusedPublicToken: unused.body.public_token }
}

const linkTokenRequest = {
  client_name: 'Linked Accounts',
  language: 'en',
  country_codes: ['US'],
  user: { client_user_id: 'user-1' },
  products: ['transactions'],
}

describe('the emulator state file (emulator/persist.ts)', () => {
  it('restores an emulator that answers exactly as the one it was saved from', async () => {
    const { createEmulator, persist } = await load()
    const clientId = newClientId()
    const before = createEmulator()
    const { kept, removed, cursor, unusedPublicToken } = await populate(before.fetch, clientId)

    const saved = JSON.parse(JSON.stringify(await persist.serializeTenants(before.tenants)))
    const after = createEmulator()
    for (const [id, tenant] of await persist.restoreTenants(saved)) after.tenants.set(id, tenant)

    const { keys } = (await control(before.fetch, clientId, '/webhook-keys')) as { keys: { kid: string }[] }
    expect(keys.length).toBe(2)
    const reads: [string, unknown][] = [
      ['/accounts/get', { access_token: kept.accessToken }],
      ['/item/get', { access_token: kept.accessToken }],
      ['/item/get', { access_token: removed.accessToken }],
      ['/transactions/sync', { access_token: kept.accessToken }],
      ['/transactions/sync', { access_token: kept.accessToken, cursor, count: 500 }],
      ['/transactions/sync', { access_token: kept.accessToken, cursor, count: 5 }],
      ...keys.map(({ kid }): [string, unknown] => ['/webhook_verification_key/get', { key_id: kid }]),
    ]
    for (const [path, body] of reads) {
      const [was, is] = [
        await plaid(clientId, path, body, { via: before.fetch }),
        await plaid(clientId, path, body, { via: after.fetch }),
      ]
      expect(withoutRequestId(is), `${path} ${JSON.stringify(body)}`).toEqual(withoutRequestId(was))
    }
    // The saved Item is in ITEM_LOGIN_REQUIRED, so /accounts/get answers that error; its data
    // also matches once both are repaired.
    for (const emulator of [before, after]) await control(emulator.fetch, clientId, `/items/${kept.itemId}/repair`, {})
    const accounts = await Promise.all(
      [before, after].map((e) =>
        plaid(clientId, '/accounts/get', { access_token: kept.accessToken }, { via: e.fetch }),
      ),
    )
    expect(accounts[0]?.status).toBe(200)
    expect(withoutRequestId(accounts[1] as PlaidAnswer)).toEqual(withoutRequestId(accounts[0] as PlaidAnswer))
    for (const path of ['/items', '/webhook-keys', '/link-tokens', `/items/${kept.itemId}/transactions`]) {
      expect(await control(after.fetch, clientId, path), path).toEqual(await control(before.fetch, clientId, path))
    }

    // Tokens issued before the save still work after it, and a new Item's ids stay unique.
    const exchanged = await plaid(
      clientId,
      '/item/public_token/exchange',
      { public_token: unusedPublicToken },
      { via: after.fetch },
    )
    expect(exchanged.status).toBe(200)
    const { signed } = await signedWebhookVerifies(after.fetch, clientId)
    expect(signed).toBe(true)
  })

  it('refuses a state of another version or that is not JSON, so the emulator starts empty', async () => {
    const { persist } = await load()
    expect(persist.parseState('{"version":0,"tenants":{}}')).toEqual({
      problem: `it is version 0, not ${persist.STATE_VERSION}`,
    })
    expect(persist.parseState('{"tenants":')).toEqual({ problem: 'it is not JSON' })

    const path = `/tmp/plaid-emulator-${crypto.randomUUID()}.json`
    persist.writeStateFile(path, { version: persist.STATE_VERSION - 1, tenants: { x: {} } })
    expect((await persist.loadStateFile(path)).size).toBe(0)
    expect((await persist.loadStateFile(`${path}.missing`)).size).toBe(0)
  })
})

/** Whether a webhook the restored emulator signs verifies with the key it serves for that kid. */
async function signedWebhookVerifies(via: Fetch, clientId: string): Promise<{ signed: boolean }> {
  const { verification } = (await control(via, clientId, '/webhooks/sign', { body: '{}' })) as { verification: string }
  const [header, payload, signature] = verification.split('.') as [string, string, string]
  const { kid } = JSON.parse(atob(header.replace(/-/g, '+').replace(/_/g, '/'))) as { kid: string }
  const key = await plaid(clientId, '/webhook_verification_key/get', { key_id: kid }, { via })
  const publicKey = await crypto.subtle.importKey(
    'jwk',
    key.body.key as JsonWebKey,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  )
  const bytes = (text: string) =>
    Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
  const signed = await crypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    publicKey,
    bytes(signature),
    new TextEncoder().encode(`${header}.${payload}`),
  )
  return { signed }
}
