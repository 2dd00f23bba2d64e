import { describe, expect, it } from 'vitest'
import { sha256Hex } from '../../src/crypto/hash'
import { api, WEBHOOK_URL } from '../helpers/api'
import { expectedClientUserId } from '../helpers/client-user-id'
import { emulator } from '../helpers/emulator'
import { runQueue, type TestEnv, testEnv } from '../helpers/env'
import { exchange, itemIdOf, linkItem, newUser } from '../helpers/linking'
import { captureLogs } from '../helpers/logs'
import { mintToken } from '../helpers/tokens'

describe('POST /api/v1/banking/link-token', () => {
  it('answers 200 with a sandbox link token and its expiration', async () => {
    const env = testEnv()
    const res = await api.linkToken(env, await mintToken({ sub: 'user-123' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
    expect(res.body.link_token).toMatch(/^link-sandbox-[0-9a-f-]{36}$/)
    expect(Date.parse(res.body.expiration as string)).toBeGreaterThan(Date.now())
    expect(Object.keys(res.body).sort()).toEqual(['expiration', 'link_token'])
    expect(await emulator.calls(env)).toEqual({ '/link/token/create': 1 })
    // A new link (not update mode) for the seed's default products.
    expect(await emulator.linkTokens(env)).toEqual([
      {
        link_token: res.body.link_token,
        // A keyed hash of the user id, never the id (test/helpers/client-user-id.ts).
        client_user_id: await expectedClientUserId(env, 'user-123'),
        webhook: null,
        redirect_uri: null,
        item_id: null,
        country_codes: ['US'],
        products: ['transactions', 'auth'],
        // Not sent while PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS and PLAID_OPTIONAL_PRODUCTS are unset.
        required_if_supported_products: null,
        optional_products: null,
        additional_consented_products: null,
        account_selection_enabled: false,
        // PLAID_TRANSACTIONS_DAYS_REQUESTED is unset: Plaid's maximum, two years of history.
        days_requested: 730,
      },
    ])
  })

  it('accepts the frontend request as the seed shows it: JSON content type and no body', async () => {
    const res = await api.linkToken(testEnv(), await mintToken(), { headers: { 'Content-Type': 'application/json' } })
    expect(res.status).toBe(200)
  })

  it('still refuses a body field it does not know, though unknown query parameters are ignored', async () => {
    const env = testEnv()
    const res = await api.linkToken(env, await mintToken(), { query: { _: 1700000000 }, body: { _: 1 } })
    expect(res.status).toBe(422)
    expect(res.body).toEqual({ detail: 'invalid body: _: unknown field' })
    expect(await emulator.calls(env)).toEqual({})
  })

  it('answers 400 with Plaid error_message in the seed shape when Plaid reports an error', async () => {
    const env = testEnv()
    await emulator.fault(env, {
      endpoint: '/link/token/create',
      kind: 'plaid_error',
      error_type: 'INVALID_INPUT',
      error_code: 'INVALID_API_KEYS',
      error_message: 'invalid client_id or secret provided',
    })
    const res = await api.linkToken(env, await mintToken())
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({
      detail: 'Failed to create link token: invalid client_id or secret provided',
      error_code: 'INVALID_API_KEYS',
      error_type: 'INVALID_INPUT',
    })
    expect(res.body.request_id).toMatch(/^[A-Za-z0-9]{15}$/)
  })

  it('answers 400 INVALID_API_KEYS when the Plaid secret is wrong, and never echoes it', async () => {
    const env = testEnv({ PLAID_SECRET: 'wrong-secret-value-123' })
    const { result: res, logs } = await captureLogs(async () => api.linkToken(env, await mintToken()))
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({
      detail: 'Failed to create link token: invalid client_id or secret provided',
      error_code: 'INVALID_API_KEYS',
    })
    expect(res.text).not.toContain('wrong-secret-value-123')
    expect(logs).not.toContain('wrong-secret-value-123')
    // Plaid saw the request (and refused it): the call counts are what proves "not called" elsewhere.
    expect(await emulator.calls(env)).toEqual({ '/link/token/create': 1 })
  })

  it.each([
    ['RATE_LIMIT_EXCEEDED', 'RATE_LIMIT', 429],
    ['API_ERROR', 'INTERNAL_SERVER_ERROR', 500],
    ['INVALID_REQUEST', 'INVALID_FIELD', 400],
  ])('keeps the 400 rule for a %s/%s Plaid error (HTTP %i from Plaid)', async (type, code, status) => {
    const env = testEnv()
    // Every attempt: retryable errors are retried first.
    await emulator.failEveryCall(env, '/link/token/create', status, type, code)
    const res = await api.linkToken(env, await mintToken())
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({
      detail: `Failed to create link token: plaid says ${code}`,
      error_code: code,
      error_type: type,
    })
  })

  describe('client_user_id', () => {
    const clientUserIds = async (env: TestEnv) => (await emulator.linkTokens(env)).map((t) => t.client_user_id)

    it('is a keyed hash of the user id, never the id itself, since Plaid wants no personal data there', async () => {
      const env = testEnv()
      const sub = 'jane.doe@example.com' // identity providers often put an email in sub
      const res = await api.linkToken(env, await mintToken({ sub }))
      expect(res.status).toBe(200)
      const [sent] = await clientUserIds(env)
      expect(sent).toBe(await expectedClientUserId(env, sub))
      expect(sent).toMatch(/^[0-9a-f]{64}$/)
      expect(sent).not.toContain('jane')
    })

    it('is the same for one user every time, update mode included, and differs between users', async () => {
      const env = testEnv()
      const user = await newUser()
      const other = await newUser()
      const itemId = itemIdOf(await linkItem(env, user))
      for (const [who, body] of [
        [user, undefined],
        [user, { item_id: itemId }],
        [other, undefined],
      ] as const) {
        expect((await api.linkToken(env, who.token, { body })).status).toBe(200)
      }
      const [first, update, others] = await clientUserIds(env)
      expect(first).toBe(await expectedClientUserId(env, user.id))
      expect(update).toBe(first)
      expect(others).toBe(await expectedClientUserId(env, other.id))
      expect(others).not.toBe(first)
    })

    it('depends on PLAID_CLIENT_USER_ID_KEY, so it is no plain hash anyone could recompute', async () => {
      const sub = 'user-42'
      const envs = [testEnv(), testEnv({ PLAID_CLIENT_USER_ID_KEY: btoa('another-32-byte-client-user-key!') })]
      for (const env of envs) {
        expect((await api.linkToken(env, await mintToken({ sub }))).status).toBe(200)
      }
      const [a, b] = [(await clientUserIds(envs[0] as TestEnv))[0], (await clientUserIds(envs[1] as TestEnv))[0]]
      expect(a).toBe(await expectedClientUserId(envs[0] as TestEnv, sub))
      expect(b).toBe(await expectedClientUserId(envs[1] as TestEnv, sub))
      expect(a).not.toBe(b)
      expect(a).not.toBe(await sha256Hex(sub))
    })
  })

  it('sends webhook and redirect_uri when they are configured, which Plaid validates', async () => {
    const env = testEnv({
      PLAID_WEBHOOK_URL: WEBHOOK_URL,
      PLAID_REDIRECT_URI: 'https://app.example.com/oauth-return',
    })
    const res = await api.linkToken(env, await mintToken())
    expect(res.status).toBe(200)
    expect(await emulator.linkTokens(env)).toMatchObject([
      {
        webhook: WEBHOOK_URL,
        redirect_uri: 'https://app.example.com/oauth-return',
      },
    ])
  })

  it('sends redirect_uri exactly as set, trailing slash included: Plaid matches it with the Dashboard list as written', async () => {
    const env = testEnv({ PLAID_REDIRECT_URI: 'https://app.example.com/oauth-return/' })
    expect((await api.linkToken(env, await mintToken())).status).toBe(200)
    expect((await emulator.linkTokens(env)).map((t) => t.redirect_uri)).toEqual([
      'https://app.example.com/oauth-return/',
    ])
  })

  describe('transaction history (PLAID_TRANSACTIONS_DAYS_REQUESTED)', () => {
    const DAY_MS = 86_400_000
    const dayBefore = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString().slice(0, 10)

    it('sends the configured days_requested, and the Item linked with the token gets that much history', async () => {
      const env = testEnv({ PLAID_TRANSACTIONS_DAYS_REQUESTED: '60' })
      const user = await newUser()
      const res = await api.linkToken(env, user.token)
      expect(res.status).toBe(200)
      expect(await emulator.linkTokens(env)).toMatchObject([{ link_token: res.body.link_token, days_requested: 60 }])
      // The user finishes Link; the exchange queues the first sync, which brings the history in.
      const linked = await exchange(env, user, await emulator.finishLink(env, res.body.link_token as string))
      expect(linked.status).toBe(201)
      await runQueue(env)
      const listed = await api.transactions(env, user.token, { query: { limit: 500 } })
      const dates = (listed.body.transactions as { date: string }[]).map((t) => t.date).sort()
      // Without days_requested the emulator keeps 30 days; 48 transactions over 60 days all
      // landing in the last 30 would be a 1-in-2^48 chance.
      expect(dates[0] && dates[0] < dayBefore(30)).toBe(true)
      expect(dates[0] && dates[0] >= dayBefore(60)).toBe(true)
    })

    it.each(['0', '731'])(
      'answers 500 naming the setting, and calls no Plaid, when it is %s (outside 1 to 730)',
      async (days) => {
        const env = testEnv({ PLAID_TRANSACTIONS_DAYS_REQUESTED: days })
        const res = await api.linkToken(env, await mintToken())
        expect(res.status).toBe(500)
        expect(res.body).toEqual({
          detail:
            'Failed to create link token: server misconfigured: ' +
            'PLAID_TRANSACTIONS_DAYS_REQUESTED must be a whole number of days from 1 to 730',
        })
        expect(await emulator.calls(env)).toEqual({})
      },
    )

    it("sends no days_requested in update mode, where Plaid cannot change an Item's history", async () => {
      const env = testEnv({ PLAID_TRANSACTIONS_DAYS_REQUESTED: '365' })
      const user = await newUser()
      const itemId = itemIdOf(await linkItem(env, user))
      for (const body of [{ item_id: itemId }, { item_id: itemId, account_selection: true }]) {
        expect((await api.linkToken(env, user.token, { body })).status).toBe(200)
      }
      const tokens = await emulator.linkTokens(env)
      expect(tokens.map((t) => [t.item_id, t.days_requested])).toEqual([
        [itemId, null],
        [itemId, null],
      ])
    })
  })

  describe('products that do not hide banks', () => {
    const settings = {
      PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: 'identity,employment',
      PLAID_OPTIONAL_PRODUCTS: 'liabilities, standing_orders',
    }

    it('sends them when set, and the Item gets those its bank supports', async () => {
      const env = testEnv(settings)
      const user = await newUser()
      const res = await api.linkToken(env, user.token)
      expect(res.status).toBe(200)
      expect(await emulator.linkTokens(env)).toMatchObject([
        {
          link_token: res.body.link_token,
          products: ['transactions', 'auth'],
          required_if_supported_products: ['identity', 'employment'],
          optional_products: ['liabilities', 'standing_orders'],
          additional_consented_products: null,
        },
      ])
      // The user finishes Link at a Sandbox bank, which has neither employment nor standing orders.
      const publicToken = await emulator.finishLink(env, res.body.link_token as string)
      const linked = await exchange(env, user, publicToken)
      expect(linked.status).toBe(201)
      expect(await emulator.items(env)).toMatchObject([
        { item_id: itemIdOf(linked), products: ['transactions', 'auth', 'identity', 'liabilities'] },
      ])
    })

    it('sends neither in update mode, where Plaid wants no products', async () => {
      const env = testEnv(settings)
      const user = await newUser()
      const itemId = itemIdOf(await linkItem(env, user))
      const res = await api.linkToken(env, user.token, { body: { item_id: itemId } })
      expect(res.status).toBe(200)
      expect(await emulator.linkTokens(env)).toMatchObject([
        { item_id: itemId, products: [], required_if_supported_products: null, optional_products: null },
      ])
    })
  })

  describe('when Plaid misbehaves', () => {
    it('answers 500 when Plaid cannot be reached', async () => {
      const env = testEnv({ PLAID_BASE_URL: 'http://unreachable.test' })
      const res = await api.linkToken(env, await mintToken())
      expect(res.status).toBe(500)
      expect(res.body).toEqual({ detail: 'Failed to create link token: could not reach Plaid', retryable: true })
    })

    it('answers 500 when the connection drops mid-request', async () => {
      const env = testEnv()
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'disconnect', times: 0 })
      const res = await api.linkToken(env, await mintToken())
      expect(res.status).toBe(500)
      expect(res.body).toEqual({ detail: 'Failed to create link token: could not reach Plaid', retryable: true })
    })

    it('answers 500 within the configured timeout when Plaid is slow', async () => {
      const env = testEnv({ PLAID_TIMEOUT_MS: '300' })
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'slow', delay_ms: 5000 })
      const started = Date.now()
      const res = await api.linkToken(env, await mintToken())
      expect(res.status).toBe(500)
      expect(res.body).toEqual({
        detail: 'Failed to create link token: Plaid did not answer within 300 ms',
        retryable: true,
      })
      expect(Date.now() - started).toBeLessThan(4000)
    })

    it('answers 500 when Plaid answers with something that is not JSON', async () => {
      const env = testEnv()
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'garbage' })
      const res = await api.linkToken(env, await mintToken())
      expect(res.status).toBe(500)
      expect(res.body).toEqual({
        detail: 'Failed to create link token: unexpected answer from Plaid (HTTP 200): not JSON',
        // Plaid answered, in a shape this API does not read: the same request would fail the same way.
        retryable: false,
      })
    })

    it('answers 500 when a gateway answers with an HTML error page', async () => {
      const env = testEnv()
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'status', status: 502, times: 0 })
      const res = await api.linkToken(env, await mintToken())
      expect(res.status).toBe(500)
      expect(res.body).toEqual({
        detail: 'Failed to create link token: unexpected answer from Plaid (HTTP 502): not JSON',
        retryable: true,
      })
    })

    it('answers 500 when Plaid answers 200 without a link_token', async () => {
      const env = testEnv()
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'incomplete' })
      const res = await api.linkToken(env, await mintToken())
      expect(res.status).toBe(500)
      expect(res.body.detail).toBe(
        'Failed to create link token: unexpected answer from Plaid (HTTP 200): required fields are missing',
      )
      expect(res.body.request_id).toMatch(/^[A-Za-z0-9]{15}$/)
    })
  })

  it('writes one JSON log line per failure with route, status, error_code and request_id, and nothing secret', async () => {
    const env = testEnv()
    await emulator.fault(env, {
      endpoint: '/link/token/create',
      kind: 'plaid_error',
      error_code: 'INVALID_FIELD',
      error_message: 'x',
    })
    const token = await mintToken()
    const { result: res, logs } = await captureLogs(() => api.linkToken(env, token))
    const lines = logs.split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0] as string)
    expect(entry).toMatchObject({
      level: 'warn',
      message: 'request failed',
      method: 'POST',
      route: '/api/v1/banking/link-token',
      status: 400,
      error_code: 'INVALID_FIELD',
      plaid_request_id: res.body.request_id,
    })
    for (const secret of [token, env.PLAID_SECRET as string, env.JWT_SECRET as string]) {
      expect(logs).not.toContain(secret)
      expect(res.text).not.toContain(secret)
    }
  })

  it.each([
    ['Plaid is unreachable', { endpoint: '/link/token/create', kind: 'disconnect', times: 0 }, {}],
    [
      'Plaid is too slow',
      { endpoint: '/link/token/create', kind: 'slow', delay_ms: 1500 },
      { PLAID_TIMEOUT_MS: '300' },
    ],
    ['Plaid answers garbage', { endpoint: '/link/token/create', kind: 'garbage', times: 0 }, {}],
    ['a setting is malformed', undefined, { PLAID_PRODUCTS: 'transactions,teleportation' }],
  ] as const)('writes one JSON log line, and nothing secret, when %s', async (_, fault, overrides) => {
    const env = testEnv(overrides)
    if (fault) await emulator.fault(env, fault)
    const token = await mintToken()
    const { result: res, logs } = await captureLogs(() => api.linkToken(env, token))
    expect(res.status).toBe(500)
    const lines = logs.split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: expect.stringMatching(/^(warn|error)$/),
      message: 'request failed',
      route: '/api/v1/banking/link-token',
      status: 500,
      request_id: res.headers.get('X-Request-Id'),
    })
    for (const secret of [token, env.PLAID_SECRET as string, env.JWT_SECRET as string]) {
      expect(logs).not.toContain(secret)
      expect(res.text).not.toContain(secret)
    }
    expect(logs).not.toContain('teleportation')
  })
})
