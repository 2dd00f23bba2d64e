import { describe, expect, it } from 'vitest'
import { api } from '../helpers/api'
import { runCron } from '../helpers/cron'
import { emulator } from '../helpers/emulator'
import { testEnv } from '../helpers/env'
import { exchange, itemIdOf, linkItem, newUser } from '../helpers/linking'
import { captureLogs } from '../helpers/logs'
import { failingUserStore, rowsIn } from '../helpers/user-store'

const DUPLICATE_DETAIL = 'this login is already linked: an Item at this institution has the same accounts'
/** What the user's object holds. */
async function rowsFor(userId: string) {
  return {
    items: await rowsIn(userId, 'SELECT * FROM items'),
    accounts: await rowsIn(userId, 'SELECT * FROM accounts'),
  }
}

describe('POST /api/v1/banking/exchange-token', () => {
  it('answers 201 with the new Item and its accounts, and no access token', async () => {
    const env = testEnv()
    const user = await newUser()
    const res = await linkItem(env, user)
    expect(res.status).toBe(201)
    expect(res.body.item).toMatchObject({
      institution_id: 'ins_109508',
      institution_name: 'First Platypus Bank',
      status: 'good',
      error_code: null,
    })
    const accounts = res.body.accounts as Array<Record<string, unknown>>
    expect(accounts.length).toBeGreaterThanOrEqual(2)
    expect(accounts[0]).toMatchObject({ item_id: itemIdOf(res), balances: expect.any(Object) })
    expect(res.text).not.toMatch(/access-(sandbox|production)-/)
    expect(await emulator.calls(env)).toMatchObject({ '/item/public_token/exchange': 1, '/accounts/get': 1 })
  })

  it('never stores the access token in clear text: only AES-GCM sealed, bound to the user and Item', async () => {
    const env = testEnv()
    const user = await newUser()
    const res = await linkItem(env, user)
    const accessToken = (await emulator.items(env))[0]?.access_token as string
    expect(accessToken).toMatch(/^access-sandbox-/)
    const { items, accounts } = await rowsFor(user.id)
    expect(items).toHaveLength(1)
    const row = items[0] as Record<string, unknown>
    const stored = JSON.stringify([items, accounts])
    for (const encoding of [accessToken, btoa(accessToken), btoa(accessToken).replace(/=+$/, '')]) {
      expect(stored).not.toContain(encoding)
    }
    expect(row.item_id).toBe(itemIdOf(res))
    expect(row.access_token_key_id).toMatch(/^[0-9a-f]{12}$/)

    // Independently of the app's code: 12-byte IV, then AES-256-GCM ciphertext and tag, with the
    // user and Item ids as additional data; it opens to Plaid's token under the configured key.
    const sealed = Uint8Array.from(
      atob((row.access_token_sealed as string).replace(/-/g, '+').replace(/_/g, '/')),
      (c) => c.charCodeAt(0),
    )
    expect(sealed.length).toBe(12 + accessToken.length + 16)
    const key = await crypto.subtle.importKey(
      'raw',
      Uint8Array.from(atob(env.TOKEN_ENCRYPTION_KEY as string), (c) => c.charCodeAt(0)),
      'AES-GCM',
      false,
      ['decrypt'],
    )
    const opened = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: sealed.subarray(0, 12),
        additionalData: new TextEncoder().encode(`plaid-access-token|${user.id}|${row.item_id}`),
      },
      key,
      sealed.subarray(12),
    )
    expect(new TextDecoder().decode(opened)).toBe(accessToken)
  })

  it('answers the same public token again with the same Item (200), without a second exchange', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const first = await exchange(env, user, publicToken)
    const second = await exchange(env, user, publicToken)
    expect(first.status).toBe(201)
    expect(second.status).toBe(200)
    expect(itemIdOf(second)).toBe(itemIdOf(first))
    expect((await emulator.calls(env))['/item/public_token/exchange']).toBe(1)
    expect((await rowsFor(user.id)).items).toHaveLength(1)
  })

  it('answers a replay of the public token minutes after the exchange with the same Item, without a second exchange', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const first = await exchange(env, user, publicToken)
    expect(first.status).toBe(201)
    // A client retrying long after its own timeout: the claim is older than a dead request's.
    await rowsIn(
      user.id,
      'UPDATE public_token_exchanges SET claimed_at = ?',
      new Date(Date.now() - 5 * 60_000).toISOString(),
    )
    const replay = await exchange(env, user, publicToken)
    expect(replay.status).toBe(200)
    expect(itemIdOf(replay)).toBe(itemIdOf(first))
    expect((await emulator.calls(env))['/item/public_token/exchange']).toBe(1)
  })

  it('creates one Item when two requests race with the same public token', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const results = await Promise.all([1, 2, 3].map(() => exchange(env, user, publicToken)))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    for (const r of results) expect([200, 201, 409]).toContain(r.status)
    expect((await emulator.calls(env))['/item/public_token/exchange']).toBe(1)
    expect((await rowsFor(user.id)).items).toHaveLength(1)
  })

  it('answers 409 with the existing item_id when the institution is already linked, and removes the duplicate at Plaid', async () => {
    const env = testEnv()
    const user = await newUser()
    const first = await linkItem(env, user, 'ins_109509')
    const second = await linkItem(env, user, 'ins_109509')
    expect(second.status).toBe(409)
    expect(second.body).toEqual({ detail: DUPLICATE_DETAIL, item_id: itemIdOf(first) })
    const atPlaid = await emulator.items(env)
    expect(atPlaid.filter((i) => !i.removed).map((i) => i.item_id)).toEqual([itemIdOf(first)])
    expect(atPlaid.filter((i) => i.removed)).toHaveLength(1)
    expect((await rowsFor(user.id)).items).toHaveLength(1)
  })

  it('keeps one Item when two links of the same institution race', async () => {
    const env = testEnv()
    const user = await newUser()
    const tokens = await Promise.all([emulator.publicToken(env, 'ins_109510'), emulator.publicToken(env, 'ins_109510')])
    const results = await Promise.all(tokens.map((t) => exchange(env, user, t)))
    expect(results.map((r) => r.status).sort()).toEqual([201, 409])
    const winner = results.find((r) => r.status === 201)
    const loser = results.find((r) => r.status === 409)
    expect(loser?.body.item_id).toBe(winner && itemIdOf(winner))
    expect((await rowsFor(user.id)).items).toHaveLength(1)
    expect((await emulator.items(env)).filter((i) => !i.removed)).toHaveLength(1)
  })

  it('lets two users link the same institution', async () => {
    const env = testEnv()
    const [a, b] = [await newUser(), await newUser()]
    expect((await linkItem(env, a, 'ins_109511')).status).toBe(201)
    expect((await linkItem(env, b, 'ins_109511')).status).toBe(201)
  })

  it('answers 400 with Plaid error when the public token is unknown or already used elsewhere', async () => {
    const env = testEnv()
    const res = await exchange(env, await newUser(), 'public-sandbox-00000000-0000-0000-0000-000000000000')
    expect(res.status).toBe(400)
    expect(res.body.error_code).toBe('INVALID_PUBLIC_TOKEN')
    expect(res.body.detail).toMatch(/^Failed to exchange public token: /)
  })

  it('answers 409 when another user presents a public token already used', async () => {
    const env = testEnv()
    const publicToken = await emulator.publicToken(env)
    expect((await exchange(env, await newUser(), publicToken)).status).toBe(201)
    const other = await exchange(env, await newUser(), publicToken)
    expect(other.status).toBe(409)
    expect(other.body).toEqual({ detail: 'this public token has already been used' })
  })

  it('still answers 409 to another user after the hourly cron has run', async () => {
    const env = testEnv()
    const publicToken = await emulator.publicToken(env)
    expect((await exchange(env, await newUser(), publicToken)).status).toBe(201)
    await runCron(env)
    const other = await exchange(env, await newUser(), publicToken)
    expect(other.status).toBe(409)
    expect(other.body).toEqual({ detail: 'this public token has already been used' })
  })

  it('lets the user retry after Plaid failed the exchange', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    await emulator.fault(env, {
      endpoint: '/item/public_token/exchange',
      kind: 'plaid_error',
      status: 500,
      error_type: 'API_ERROR',
      error_code: 'INTERNAL_SERVER_ERROR',
      error_message: 'an unexpected error occurred',
    })
    const failed = await exchange(env, user, publicToken)
    expect(failed.status).toBe(400)
    expect(failed.body.detail).toBe('Failed to exchange public token: an unexpected error occurred')
    expect((await exchange(env, user, publicToken)).status).toBe(201)
  })

  it('answers 500 when Plaid cannot be reached, storing nothing', async () => {
    const env = testEnv({ PLAID_BASE_URL: 'http://unreachable.test' })
    const user = await newUser()
    const res = await exchange(env, user, 'public-sandbox-11111111-1111-1111-1111-111111111111')
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ detail: 'Failed to exchange public token: could not reach Plaid', retryable: true })
    expect((await rowsFor(user.id)).items).toHaveLength(0)
  })

  it('removes the new Item at Plaid and stores nothing when /accounts/get fails after the exchange', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    await emulator.fault(env, { endpoint: '/accounts/get', kind: 'status', status: 503, times: 0 })
    const res = await exchange(env, user, publicToken)
    expect(res.status).toBe(500)
    expect(res.body.detail).toBe('Failed to exchange public token: unexpected answer from Plaid (HTTP 503): not JSON')
    expect(await rowsFor(user.id)).toEqual({ items: [], accounts: [] })
    const atPlaid = await emulator.items(env)
    expect(atPlaid).toHaveLength(1)
    expect(atPlaid[0]?.removed).toBe(true)
  })

  it('keeps the pending link, logged by item_id (never the token), when even the clean-up removal fails', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    await emulator.fault(
      env,
      { endpoint: '/accounts/get', kind: 'disconnect', times: 0 },
      { endpoint: '/item/remove', kind: 'disconnect' },
    )
    const { result: res, logs } = await captureLogs(() => exchange(env, user, publicToken))
    expect(res.status).toBe(500)
    const [kept] = await emulator.items(env)
    expect(logs).toContain('newly linked item not removed at Plaid; its pending link is kept for a later try')
    expect(logs).toContain(kept?.item_id)
    expect(logs).not.toMatch(/access-sandbox-/)
    expect(logs).not.toContain(publicToken)
    // The background settles it later (pending-links.test.ts): stored, or removed at Plaid.
    expect(await rowsIn(user.id, 'SELECT item_id FROM pending_links')).toEqual([{ item_id: kept?.item_id }])
  })

  it('undoes the link at Plaid and reports 500 when the database write fails', async () => {
    const env = testEnv()
    const failingStore = failingUserStore(['insertLinkedItem'])
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const res = await exchange({ ...env, USER_STORE: failingStore } as typeof env, user, publicToken)
    expect(res.status).toBe(500)
    expect(res.body.detail).toBe(
      'Failed to exchange public token: the linked account could not be saved; link it again',
    )
    expect((await rowsFor(user.id)).items).toHaveLength(0)
    expect((await emulator.items(env))[0]?.removed).toBe(true)
    // The claim was released: with the database back, a new link works.
    expect((await linkItem(env, user)).status).toBe(201)
  })

  it('undoes the link at Plaid when a database read after the exchange fails', async () => {
    const env = testEnv()
    const user = await newUser()
    expect((await linkItem(env, user, 'ins_109509')).status).toBe(201)
    // The save is refused as a duplicate, then the lookup of the Item it duplicates fails, with
    // Plaid's access token for the second Item already issued.
    const failingStore = failingUserStore(['findDuplicateItem'])
    const publicToken = await emulator.publicToken(env, 'ins_109509')
    const { result: res, logs } = await captureLogs(() =>
      exchange({ ...env, USER_STORE: failingStore } as typeof env, user, publicToken),
    )
    expect(res.status).toBe(500)
    expect(res.body.detail).toBe('Failed to exchange public token: internal error')
    const atPlaid = await emulator.items(env)
    expect(atPlaid).toHaveLength(2)
    expect(atPlaid.filter((i) => i.removed)).toHaveLength(1)
    expect(logs).toContain('removed a newly linked item at Plaid')
    expect(logs).not.toMatch(/access-sandbox-/)
    expect((await rowsFor(user.id)).items).toHaveLength(1)
    // The claim was released: presenting the same token again reaches Plaid (which has used it up).
    expect((await exchange(env, user, publicToken)).status).toBe(400)
  })

  it('uses the institution from Link metadata when Plaid does not name one', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const [pending] = await emulator.items(env)
    await emulator.withoutInstitution(env, pending?.item_id as string)
    const res = await exchange(env, user, publicToken, {
      institution: { institution_id: 'ins_109511', name: 'Tartan Bank' },
    })
    expect(res.status).toBe(201)
    expect(res.body.item).toMatchObject({ institution_id: 'ins_109511', institution_name: 'Tartan Bank' })
  })

  it('keeps the institution Plaid names when Link metadata names another', async () => {
    const env = testEnv()
    const user = await newUser()
    const res = await exchange(env, user, await emulator.publicToken(env, 'ins_109508'), {
      institution: { institution_id: 'ins_109509', name: 'First Gingham Credit Union' },
    })
    expect(res.status).toBe(201)
    expect(res.body.item).toMatchObject({ institution_id: 'ins_109508', institution_name: 'First Platypus Bank' })
    expect(await rowsIn(user.id, 'SELECT institution_id FROM items')).toEqual([{ institution_id: 'ins_109508' }])
  })

  describe('bad input', () => {
    const cases: Array<[string, { body?: unknown; headers?: Record<string, string> }, number, RegExp]> = [
      ['no body', {}, 400, /^request body is required/],
      [
        'a body that is not JSON',
        { body: '{"public_token":', headers: { 'Content-Type': 'application/json' } },
        400,
        /not valid JSON/,
      ],
      ['a text/plain body', { body: 'public_token=x', headers: { 'Content-Type': 'text/plain' } }, 415, /must be JSON/],
      ['a JSON array', { body: [] }, 422, /must be a JSON object/],
      ['a missing public_token', { body: {} }, 422, /^invalid body: public_token: is required; send \{"public_token"/],
      [
        'a camel-cased publicToken',
        { body: { publicToken: 'public-sandbox-1' } },
        422,
        /^invalid body: publicToken: unknown field; public_token: is required; send \{"public_token": "public-\.\.\.", "metadata": /,
      ],
      [
        'several unknown fields',
        { body: { public_token: 'public-sandbox-1', accounts: [], link_session_id: 'x', institutionId: 'y' } },
        422,
        /^invalid body: accounts: unknown field; link_session_id: unknown field; institutionId: unknown field; send /,
      ],
      ['a numeric public_token', { body: { public_token: 42 } }, 422, /public_token: must be a string/],
      [
        'a public_token of the wrong form',
        { body: { public_token: 'access-sandbox-123' } },
        422,
        /not a Plaid public token/,
      ],
      ['an unknown field', { body: { public_token: 'public-sandbox-1', extra: 1 } }, 422, /extra: unknown field/],
      [
        'metadata that is not an object',
        { body: { public_token: 'public-sandbox-1', metadata: 'x' } },
        422,
        /metadata: must be the metadata object from Link’s onSuccess/,
      ],
      [
        'metadata accounts that are not a list',
        { body: { public_token: 'public-sandbox-1', metadata: { accounts: {} } } },
        422,
        /metadata\.accounts: must be an array/,
      ],
      [
        'a metadata account without a name',
        { body: { public_token: 'public-sandbox-1', metadata: { accounts: [{ id: 'a', mask: '0000' }] } } },
        422,
        /metadata\.accounts\.0\.name: is required/,
      ],
      [
        'a metadata mask that is not a string',
        { body: { public_token: 'public-sandbox-1', metadata: { accounts: [{ name: 'Checking', mask: 0 }] } } },
        422,
        /metadata\.accounts\.0\.mask: must be a string/,
      ],
      [
        'both metadata and institution',
        { body: { public_token: 'public-sandbox-1', metadata: {}, institution: {} } },
        422,
        /send metadata or institution, not both/,
      ],
      [
        'an institution that is not an object',
        { body: { public_token: 'public-sandbox-1', institution: 'x' } },
        422,
        /institution/,
      ],
      [
        'an institution_id that is not a string',
        { body: { public_token: 'public-sandbox-1', institution: { institution_id: 7 } } },
        422,
        /institution\.institution_id/,
      ],
      [
        'an institution name that is too long',
        { body: { public_token: 'public-sandbox-1', institution: { name: 'x'.repeat(201) } } },
        422,
        /institution\.name/,
      ],
      [
        'a body over 16 KB',
        { body: { public_token: 'public-sandbox-1', institution: { name: 'x'.repeat(17_000) } } },
        413,
        /larger than 16 KB/,
      ],
    ]
    it.each(cases)(
      'answers %s with the documented status and shape, without calling Plaid',
      async (_, input, status, detail) => {
        const env = testEnv()
        const user = await newUser()
        const res = await api.exchangeToken(env, user.token, input.body, input)
        expect(res.status).toBe(status)
        expect(Object.keys(res.body)).toEqual(['detail'])
        expect(res.body.detail).toMatch(detail)
        expect(await emulator.calls(env)).toEqual({})
      },
    )
  })
})
