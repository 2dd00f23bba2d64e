import { describe, expect, it } from 'vitest'
import { EMULATOR_URL, linkedItem, newClientId, plaid, plaidError, type RequestOptions } from './plaid'

const LINK_TOKEN = {
  client_name: 'Linked Accounts',
  language: 'en',
  country_codes: ['US'],
  user: { client_user_id: 'user-1' },
  products: ['transactions'],
}
const { client_name: _, language: __, ...WITHOUT_NAME_AND_LANGUAGE } = LINK_TOKEN
const { products: ___, ...WITHOUT_PRODUCTS } = LINK_TOKEN
// Well formed but never issued: validation must answer before any token is looked up.
const UNKNOWN_ACCESS_TOKEN = `access-sandbox-${crypto.randomUUID()}`

type Case = [
  name: string,
  path: string,
  body: unknown,
  options: RequestOptions,
  expected: ReturnType<typeof plaidError>,
]

describe('the emulator validates requests as Plaid does', () => {
  const cases: Case[] = [
    [
      'an unknown field',
      '/link/token/create',
      { ...LINK_TOKEN, nickname: 'x' },
      { malformed: 'unknown field' },
      plaidError(
        400,
        'INVALID_REQUEST',
        'UNKNOWN_FIELDS',
        'the following fields are not recognized by this endpoint: nickname',
      ),
    ],
    [
      'an unknown nested field, named by its path',
      '/link/token/create',
      { ...LINK_TOKEN, user: { client_user_id: 'user-1', nickname: 'x' } },
      { malformed: 'unknown nested field' },
      plaidError(
        400,
        'INVALID_REQUEST',
        'UNKNOWN_FIELDS',
        'the following fields are not recognized by this endpoint: user.nickname',
      ),
    ],
    [
      'missing required fields, all of them named',
      '/link/token/create',
      WITHOUT_NAME_AND_LANGUAGE,
      { malformed: 'missing fields' },
      plaidError(
        400,
        'INVALID_REQUEST',
        'MISSING_FIELDS',
        'the following required fields are missing: client_name, language',
      ),
    ],
    [
      'a missing nested field',
      '/link/token/create',
      { ...LINK_TOKEN, user: {} },
      { malformed: 'missing nested field' },
      plaidError(
        400,
        'INVALID_REQUEST',
        'MISSING_FIELDS',
        'the following required fields are missing: user.client_user_id',
      ),
    ],
    [
      'a wrongly typed field',
      '/transactions/sync',
      { access_token: UNKNOWN_ACCESS_TOKEN, count: '100' },
      { malformed: 'string for an integer' },
      plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', 'count must be an integer from 1 to 500'),
    ],
    [
      'a value outside an enum of the spec',
      '/link/token/create',
      { ...LINK_TOKEN, country_codes: ['XX'] },
      { malformed: 'value outside the CountryCode enum' },
      plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', /^country_codes\[0\] must be one of: US, GB, /),
    ],
    [
      // The spec types language as a plain string, so this request meets it and is not marked.
      'a language Link does not offer',
      '/link/token/create',
      { ...LINK_TOKEN, language: 'xx' },
      {},
      plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', /^language must be one of: da, nl, en, /),
    ],
    [
      'optional_products that is not an array',
      '/link/token/create',
      { ...LINK_TOKEN, optional_products: 'identity' },
      { malformed: 'string for an array of products' },
      plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', 'optional_products must be an array'),
    ],
    [
      'a required_if_supported_products entry outside the Products enum',
      '/link/token/create',
      { ...LINK_TOKEN, required_if_supported_products: ['identity', 'teleportation'] },
      { malformed: 'value outside the Products enum' },
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        /^required_if_supported_products\[1\] must be one of: assets, auth, /,
      ),
    ],
    [
      'an additional_consented_products entry outside the Products enum',
      '/link/token/create',
      { ...LINK_TOKEN, additional_consented_products: [7] },
      { malformed: 'number for a product' },
      plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', /^additional_consented_products\[0\] must be one of: /),
    ],
    // The spec asks for no overlap in prose only, so these requests meet its schema and are not marked.
    [
      'a product in both products and optional_products',
      '/link/token/create',
      { ...LINK_TOKEN, optional_products: ['identity', 'transactions'] },
      {},
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        'products and optional_products must not overlap; both contain: transactions',
      ),
    ],
    [
      'a product in both products and required_if_supported_products',
      '/link/token/create',
      { ...LINK_TOKEN, required_if_supported_products: ['transactions'] },
      {},
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        'products and required_if_supported_products must not overlap; both contain: transactions',
      ),
    ],
    [
      'a product in both required_if_supported_products and optional_products',
      '/link/token/create',
      { ...LINK_TOKEN, required_if_supported_products: ['identity'], optional_products: ['identity'] },
      {},
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        'required_if_supported_products and optional_products must not overlap; both contain: identity',
      ),
    ],
    [
      'a product in both optional_products and additional_consented_products',
      '/link/token/create',
      { ...LINK_TOKEN, optional_products: ['liabilities'], additional_consented_products: ['liabilities'] },
      {},
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        'optional_products and additional_consented_products must not overlap; both contain: liabilities',
      ),
    ],
    [
      'a product in both products and additional_consented_products',
      '/link/token/create',
      { ...LINK_TOKEN, additional_consented_products: ['transactions'] },
      {},
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        'products and additional_consented_products must not overlap; both contain: transactions',
      ),
    ],
    [
      'balance in products, which the spec says is no valid value there',
      '/link/token/create',
      { ...LINK_TOKEN, products: ['transactions', 'balance'] },
      {},
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        'products must not contain balance: Balance is initialized with any other product',
      ),
    ],
    [
      'optional_products without products (update mode), before the access token is looked up',
      '/link/token/create',
      { ...WITHOUT_PRODUCTS, access_token: UNKNOWN_ACCESS_TOKEN, optional_products: ['identity'] },
      {},
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        'products must contain at least one product when required_if_supported_products or optional_products is set',
      ),
    ],
    ...(
      [
        ['0 days of history', 0, 'below the minimum of LinkTokenTransactions.days_requested'],
        ['731 days of history', 731, 'above the maximum of LinkTokenTransactions.days_requested'],
        ['a fraction of a day', 90.5, 'a fraction for an integer'],
        ['days as a string', '90', 'string for an integer'],
      ] as const
    ).map(
      ([what, days, why]): Case => [
        `transactions.days_requested of ${what}`,
        '/link/token/create',
        { ...LINK_TOKEN, transactions: { days_requested: days } },
        { malformed: why },
        plaidError(
          400,
          'INVALID_REQUEST',
          'INVALID_FIELD',
          'transactions.days_requested must be an integer from 1 to 730',
        ),
      ],
    ),
    [
      'an unknown field in transactions',
      '/link/token/create',
      { ...LINK_TOKEN, transactions: { days_requested: 90, history: 'all' } },
      { malformed: 'unknown field in LinkTokenTransactions' },
      plaidError(
        400,
        'INVALID_REQUEST',
        'UNKNOWN_FIELDS',
        'the following fields are not recognized by this endpoint: transactions.history',
      ),
    ],
    [
      'a body that is not JSON',
      '/link/token/create',
      undefined,
      { rawBody: '{"client_name":', malformed: 'body is not JSON' },
      plaidError(400, 'INVALID_REQUEST', 'INVALID_BODY', 'body could not be parsed as JSON'),
    ],
  ]

  it.each(cases)('answers %s with its Plaid error', async (_name, path, body, options, expected) => {
    expect(await plaid(newClientId(), path, body, options)).toEqual(expected)
  })
})

describe('the emulator checks credentials and headers as Plaid does', () => {
  const cases: Array<[name: string, options: RequestOptions, expected: ReturnType<typeof plaidError>]> = [
    [
      'a wrong secret',
      { headers: { 'PLAID-SECRET': 'not-the-secret' } },
      plaidError(400, 'INVALID_INPUT', 'INVALID_API_KEYS', 'invalid client_id or secret provided'),
    ],
    [
      'no secret',
      { headers: { 'PLAID-SECRET': null }, malformed: 'no PLAID-SECRET' },
      plaidError(400, 'INVALID_REQUEST', 'MISSING_FIELDS', 'the following required fields are missing: secret'),
    ],
    [
      'no credentials at all',
      { headers: { 'PLAID-CLIENT-ID': null, 'PLAID-SECRET': null }, malformed: 'no credentials' },
      plaidError(
        400,
        'INVALID_REQUEST',
        'MISSING_FIELDS',
        'the following required fields are missing: client_id, secret',
      ),
    ],
    [
      'a Plaid-Version that is no API version',
      { headers: { 'Plaid-Version': '0.1.0' }, malformed: 'Plaid-Version is not an API version' },
      plaidError(400, 'INVALID_REQUEST', 'INVALID_HEADERS', /Plaid-Version/),
    ],
  ]

  it.each(cases)('answers %s with its Plaid error', async (_name, options, expected) => {
    expect(await plaid(newClientId(), '/link/token/create', LINK_TOKEN, options)).toEqual(expected)
  })

  it("answers a request without Plaid-Version with the team's default version", async () => {
    const answer = await plaid(newClientId(), '/link/token/create', LINK_TOKEN, {
      headers: { 'Plaid-Version': null },
      malformed: 'no Plaid-Version (the Worker must always send it)',
    })
    expect(answer).toMatchObject({ status: 200, body: { link_token: expect.stringMatching(/^link-sandbox-/) } })
  })

  it('answers a path Plaid does not have with 404 NOT_FOUND', async () => {
    expect(await plaid(newClientId(), '/item/nonexistent', {})).toEqual(
      plaidError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'not found'),
    )
  })
})

describe('a Link session finished with a link token gives the Item the products that apply', () => {
  /** The user finishes Link at the institution (the emulator's control API stands in for Link). */
  const finish = (clientId: string, linkToken: unknown, institutionId = 'ins_109508') =>
    fetch(`${EMULATOR_URL}/emulator/link-tokens/${linkToken}/finish`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': clientId },
      body: JSON.stringify({ institution_id: institutionId }),
    })

  it('initializes products, and the required-if-supported and optional ones the institution supports', async () => {
    const clientId = newClientId()
    const link = await plaid(clientId, '/link/token/create', {
      ...LINK_TOKEN,
      // Sandbox institutions support identity and liabilities, but not employment or standing orders.
      required_if_supported_products: ['identity', 'employment'],
      optional_products: ['liabilities', 'standing_orders'],
      additional_consented_products: ['investments'],
    })
    expect(link.status).toBe(200)
    const finished = await finish(clientId, link.body.link_token)
    expect(finished.status).toBe(200)
    const { public_token } = (await finished.json()) as { public_token: string }
    const exchanged = await plaid(clientId, '/item/public_token/exchange', { public_token })
    const item = await plaid(clientId, '/item/get', { access_token: exchanged.body.access_token })
    expect(item.status).toBe(200)
    expect(item.body.item).toMatchObject({
      institution_id: 'ins_109508',
      products: ['identity', 'liabilities', 'transactions'],
      billed_products: ['identity', 'liabilities', 'transactions'],
    })
    // Consent alone initializes nothing: investments stays available, not billed.
    expect((item.body.item as { available_products: string[] }).available_products).toContain('investments')
  })

  it('offers no institution that lacks one of products', async () => {
    const clientId = newClientId()
    const link = await plaid(clientId, '/link/token/create', { ...LINK_TOKEN, products: ['standing_orders'] })
    expect(link.status).toBe(200)
    const finished = await finish(clientId, link.body.link_token)
    expect(finished.status).toBe(409)
    expect(await finished.json()).toEqual({ error: 'Link does not offer this institution: it lacks standing_orders' })
  })

  describe("transactions.days_requested, the new Item's history", () => {
    const DAY_MS = 86_400_000
    const dayBefore = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString().slice(0, 10)

    /** How many transactions /transactions/sync gives for the Item linked with this link token, and the oldest date. */
    async function historyOf(clientId: string, linkToken: unknown): Promise<{ count: number; oldest: string }> {
      const finished = await finish(clientId, linkToken)
      expect(finished.status).toBe(200)
      const { public_token } = (await finished.json()) as { public_token: string }
      const exchanged = await plaid(clientId, '/item/public_token/exchange', { public_token })
      const dates: string[] = []
      let cursor: string | undefined
      for (;;) {
        const page = await plaid(clientId, '/transactions/sync', {
          access_token: exchanged.body.access_token,
          count: 500,
          ...(cursor && { cursor }),
        })
        expect(page.status).toBe(200)
        dates.push(...(page.body.added as { date: string }[]).map((t) => t.date))
        cursor = page.body.next_cursor as string
        if (!page.body.has_more) return { count: dates.length, oldest: dates.sort()[0] ?? '' }
      }
    }

    it('gives the Item linked with the token no older transactions than it asked for', async () => {
      const clientId = newClientId()
      const link = await plaid(clientId, '/link/token/create', { ...LINK_TOKEN, transactions: { days_requested: 10 } })
      expect(link.status).toBe(200)
      const { count, oldest } = await historyOf(clientId, link.body.link_token)
      expect(count).toBeGreaterThan(0)
      expect(oldest >= dayBefore(10)).toBe(true)
    })

    it('gives it older transactions than the default history when it asks for two years', async () => {
      const clientId = newClientId()
      const link = await plaid(clientId, '/link/token/create', { ...LINK_TOKEN, transactions: { days_requested: 730 } })
      expect(link.status).toBe(200)
      const { oldest } = await historyOf(clientId, link.body.link_token)
      // The emulator's default history is 30 days; a year back can only come from the token.
      expect(oldest < dayBefore(365)).toBe(true)
      expect(oldest >= dayBefore(730)).toBe(true)
    })

    it('is listed as sent by the control API, update-mode tokens included', async () => {
      const clientId = newClientId()
      const { accessToken } = await linkedItem(clientId)
      const created = await plaid(clientId, '/link/token/create', {
        ...LINK_TOKEN,
        transactions: { days_requested: 365 },
      })
      const update = await plaid(clientId, '/link/token/create', {
        ...WITHOUT_PRODUCTS,
        access_token: accessToken,
        transactions: { days_requested: 200 },
      })
      const without = await plaid(clientId, '/link/token/create', LINK_TOKEN)
      expect([created.status, update.status, without.status]).toEqual([200, 200, 200])
      const response = await fetch(`${EMULATOR_URL}/emulator/link-tokens`, { headers: { 'PLAID-CLIENT-ID': clientId } })
      const { link_tokens } = (await response.json()) as { link_tokens: Record<string, unknown>[] }
      expect(link_tokens.map((t) => [t.link_token, t.days_requested])).toEqual([
        [created.body.link_token, 365],
        [update.body.link_token, 200],
        [without.body.link_token, null],
      ])
    })
  })
})
