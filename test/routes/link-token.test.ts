import { describe, expect, it } from 'vitest'
import { exchange, itemIdOf, linkItem, newUser } from '../helpers/linking'
import { captureLogs } from '../helpers/logs'
import { mintToken } from '../helpers/tokens'
import { call, emulator, testEnv } from '../helpers/worker'

const PATH = '/api/v1/banking/link-token'

describe('POST /api/v1/banking/link-token', () => {
  it('answers 200 with a sandbox link token and its expiration', async () => {
    const env = testEnv()
    const res = await call(env, 'POST', PATH, { token: await mintToken({ sub: 'user-123' }) })
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
        client_user_id: 'user-123',
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
      },
    ])
  })

  it('accepts the frontend request as the seed shows it: JSON content type and no body', async () => {
    const res = await call(testEnv(), 'POST', PATH, {
      token: await mintToken(),
      headers: { 'Content-Type': 'application/json' },
    })
    expect(res.status).toBe(200)
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
    const res = await call(env, 'POST', PATH, { token: await mintToken() })
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
    const { result: res, logs } = await captureLogs(async () => call(env, 'POST', PATH, { token: await mintToken() }))
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
    await emulator.fault(env, {
      endpoint: '/link/token/create',
      kind: 'plaid_error',
      status,
      error_type: type,
      error_code: code,
      error_message: `plaid says ${code}`,
      times: 0, // every attempt: retryable errors are retried first
    })
    const res = await call(env, 'POST', PATH, { token: await mintToken() })
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({
      detail: `Failed to create link token: plaid says ${code}`,
      error_code: code,
      error_type: type,
    })
  })

  it('sends the user id from the token as client_user_id (Plaid rejects nothing it needs)', async () => {
    const env = testEnv()
    const res = await call(env, 'POST', PATH, { token: await mintToken({ sub: '42' }) })
    expect(res.status).toBe(200)
    expect((await emulator.linkTokens(env)).map((t) => t.client_user_id)).toEqual(['42'])
  })

  it('sends webhook and redirect_uri when they are configured, which Plaid validates', async () => {
    const env = testEnv({
      PLAID_WEBHOOK_URL: 'https://api.example.com/api/v1/banking/webhooks',
      PLAID_REDIRECT_URI: 'https://app.example.com/oauth-return',
    })
    const res = await call(env, 'POST', PATH, { token: await mintToken() })
    expect(res.status).toBe(200)
    expect(await emulator.linkTokens(env)).toMatchObject([
      {
        webhook: 'https://api.example.com/api/v1/banking/webhooks',
        redirect_uri: 'https://app.example.com/oauth-return',
      },
    ])
  })

  it('sends redirect_uri exactly as set, trailing slash included: Plaid matches it with the Dashboard list as written', async () => {
    const env = testEnv({ PLAID_REDIRECT_URI: 'https://app.example.com/oauth-return/' })
    expect((await call(env, 'POST', PATH, { token: await mintToken() })).status).toBe(200)
    expect((await emulator.linkTokens(env)).map((t) => t.redirect_uri)).toEqual([
      'https://app.example.com/oauth-return/',
    ])
  })

  describe('products that do not hide banks', () => {
    const settings = {
      PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: 'identity,employment',
      PLAID_OPTIONAL_PRODUCTS: 'liabilities, standing_orders',
    }

    it('sends them when set, and the Item gets those its bank supports', async () => {
      const env = testEnv(settings)
      const user = await newUser()
      const res = await call(env, 'POST', PATH, { token: user.token })
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
      const res = await call(env, 'POST', PATH, { token: user.token, body: { item_id: itemId } })
      expect(res.status).toBe(200)
      expect(await emulator.linkTokens(env)).toMatchObject([
        { item_id: itemId, products: [], required_if_supported_products: null, optional_products: null },
      ])
    })
  })

  describe('when Plaid misbehaves', () => {
    it('answers 500 when Plaid cannot be reached', async () => {
      const env = testEnv({ PLAID_BASE_URL: 'http://unreachable.test' })
      const res = await call(env, 'POST', PATH, { token: await mintToken() })
      expect(res.status).toBe(500)
      expect(res.body).toEqual({ detail: 'Failed to create link token: could not reach Plaid', retryable: true })
    })

    it('answers 500 when the connection drops mid-request', async () => {
      const env = testEnv()
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'disconnect', times: 0 })
      const res = await call(env, 'POST', PATH, { token: await mintToken() })
      expect(res.status).toBe(500)
      expect(res.body).toEqual({ detail: 'Failed to create link token: could not reach Plaid', retryable: true })
    })

    it('answers 500 within the configured timeout when Plaid is slow', async () => {
      const env = testEnv({ PLAID_TIMEOUT_MS: '300' })
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'slow', delay_ms: 5000 })
      const started = Date.now()
      const res = await call(env, 'POST', PATH, { token: await mintToken() })
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
      const res = await call(env, 'POST', PATH, { token: await mintToken() })
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
      const res = await call(env, 'POST', PATH, { token: await mintToken() })
      expect(res.status).toBe(500)
      expect(res.body).toEqual({
        detail: 'Failed to create link token: unexpected answer from Plaid (HTTP 502): not JSON',
        retryable: true,
      })
    })

    it('answers 500 when Plaid answers 200 without a link_token', async () => {
      const env = testEnv()
      await emulator.fault(env, { endpoint: '/link/token/create', kind: 'incomplete' })
      const res = await call(env, 'POST', PATH, { token: await mintToken() })
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
    const { result: res, logs } = await captureLogs(() => call(env, 'POST', PATH, { token }))
    const lines = logs.split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0] as string)
    expect(entry).toMatchObject({
      level: 'warn',
      message: 'request failed',
      method: 'POST',
      route: PATH,
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
    const { result: res, logs } = await captureLogs(() => call(env, 'POST', PATH, { token }))
    expect(res.status).toBe(500)
    const lines = logs.split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: expect.stringMatching(/^(warn|error)$/),
      message: 'request failed',
      route: PATH,
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
