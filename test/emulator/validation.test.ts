import { describe, expect, it } from 'vitest'
import { newClientId, plaid, plaidError, type RequestOptions } from './plaid'

const LINK_TOKEN = {
  client_name: 'Linked Accounts',
  language: 'en',
  country_codes: ['US'],
  user: { client_user_id: 'user-1' },
  products: ['transactions'],
}
const { client_name: _, language: __, ...WITHOUT_NAME_AND_LANGUAGE } = LINK_TOKEN
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
