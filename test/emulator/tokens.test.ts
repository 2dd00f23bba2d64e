import { describe, expect, it } from 'vitest'
import { emulatorWithClock, linkedItem, newClientId, plaid, plaidError, removeItem } from './plaid'

const NOT_FOUND_PUBLIC = 'could not find matching public token'
const NOT_FOUND_ACCESS = 'could not find matching access token'
const invalidPublicToken = (message: string) => plaidError(400, 'INVALID_INPUT', 'INVALID_PUBLIC_TOKEN', message)
const invalidAccessToken = (message: string) => plaidError(400, 'INVALID_INPUT', 'INVALID_ACCESS_TOKEN', message)
const itemNotFound = plaidError(400, 'ITEM_ERROR', 'ITEM_NOT_FOUND', /^The Item you requested cannot be found\./)

async function publicToken(clientId: string): Promise<string> {
  const answer = await plaid(clientId, '/sandbox/public_token/create', {
    institution_id: 'ins_109508',
    initial_products: ['transactions'],
  })
  return answer.body.public_token as string
}

describe('/item/public_token/exchange refuses a public token it cannot exchange', () => {
  const cases: Array<[name: string, token: (clientId: string) => Promise<string>, message: string]> = [
    [
      'malformed',
      async () => 'not-a-public-token',
      'provided public token is in an invalid format. expected format: public-<environment>-<identifier>',
    ],
    ['never issued', async () => `public-sandbox-${crypto.randomUUID()}`, NOT_FOUND_PUBLIC],
    [
      'already exchanged (public tokens are one-time)',
      async (clientId) => {
        const token = await publicToken(clientId)
        expect((await plaid(clientId, '/item/public_token/exchange', { public_token: token })).status).toBe(200)
        return token
      },
      NOT_FOUND_PUBLIC,
    ],
    ["issued to another client id (another team's)", async () => publicToken(newClientId()), NOT_FOUND_PUBLIC],
  ]

  it.each(cases)('%s: 400 INVALID_PUBLIC_TOKEN', async (_name, token, message) => {
    const clientId = newClientId()
    const answer = await plaid(clientId, '/item/public_token/exchange', { public_token: await token(clientId) })
    expect(answer).toEqual(invalidPublicToken(message))
  })

  it.each([
    [29 * 60_000 + 59_000, 200],
    [30 * 60_000, 400],
  ])('exchanges a public token %i ms old only if it is under 30 minutes old (answers %i)', async (age, status) => {
    let now = Date.parse('2026-01-01T00:00:00Z')
    const own = await emulatorWithClock(() => now)
    const clientId = newClientId()
    const created = await plaid(
      clientId,
      '/sandbox/public_token/create',
      { institution_id: 'ins_109508', initial_products: ['transactions'] },
      { via: own.fetch },
    )
    now += age
    const answer = await plaid(
      clientId,
      '/item/public_token/exchange',
      { public_token: created.body.public_token },
      { via: own.fetch },
    )
    if (status === 200) expect(answer).toMatchObject({ status, body: { access_token: expect.any(String) } })
    else
      expect(answer).toEqual(
        invalidPublicToken(
          'provided public token is expired. Public tokens expire 30 minutes after creation at which point they can no longer be exchanged',
        ),
      )
  })
})

describe('every endpoint that takes an access token refuses one it cannot use', () => {
  const cases: Array<[name: string, token: (clientId: string) => Promise<string>, expected: unknown]> = [
    [
      'malformed',
      async () => 'not-an-access-token',
      invalidAccessToken(
        'provided access token is in an invalid format. expected format: access-<environment>-<identifier>',
      ),
    ],
    ['never issued', async () => `access-sandbox-${crypto.randomUUID()}`, invalidAccessToken(NOT_FOUND_ACCESS)],
    [
      "issued to another client id (another team's)",
      async () => (await linkedItem(newClientId())).accessToken,
      invalidAccessToken(NOT_FOUND_ACCESS),
    ],
    [
      'of a removed Item',
      async (clientId) => {
        const { accessToken } = await linkedItem(clientId)
        await removeItem(clientId, accessToken)
        return accessToken
      },
      itemNotFound,
    ],
  ]
  const paths: Array<[path: string, extra: Record<string, unknown>]> = [
    ['/accounts/get', {}],
    ['/accounts/balance/get', {}],
    ['/item/get', {}],
    ['/item/webhook/update', { webhook: 'https://api.example.com/api/v1/banking/webhooks' }],
    ['/item/remove', {}],
    ['/transactions/sync', {}],
    ['/sandbox/item/reset_login', {}],
    ['/sandbox/item/fire_webhook', { webhook_code: 'SYNC_UPDATES_AVAILABLE' }],
    [
      '/link/token/create',
      { client_name: 'Linked Accounts', language: 'en', country_codes: ['US'], user: { client_user_id: 'u' } },
    ],
  ]

  for (const [name, token, expected] of cases) {
    it.each(paths)(`${name}: %s answers with Plaid's error`, async (path, extra) => {
      const clientId = newClientId()
      const answer = await plaid(clientId, path, { ...extra, access_token: await token(clientId) })
      expect(answer).toEqual(expected)
    })
  }
})
