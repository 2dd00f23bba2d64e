/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest'
import { type Bindings, getConfig } from '../src/config'
import { DEV_CLIENT_USER_ID_KEY, EMULATOR_CLIENT_ID } from '../src/dev-defaults'
import wranglerToml from '../wrangler.toml?raw'
import { api, call } from './helpers/api'
import { expectedClientUserId } from './helpers/client-user-id'
import { emulator } from './helpers/emulator'
import { type TestEnv, testEnv } from './helpers/env'
import { mintToken, TEST_JWT_SECRET } from './helpers/tokens'

const MISCONFIGURED = 'Failed to create link token: server misconfigured: '

// What the messages must offer as fixes, spelled out here so a changed message is a failed test.
const secretHow = (name: string) => `run \`wrangler secret put ${name}\` (locally, add it to .dev.vars)`
const DEV_KEY_HOW =
  "add it to .dev.vars, or delete both PLAID_CLIENT_ID and PLAID_SECRET there to use the emulator's keys"
const PRODUCTS_HOW =
  'set it to a comma list of: assets, auth, beacon, identity, identity_match, investments, investments_auth, ' +
  'liabilities, payment_initiation, identity_verification, transactions, credit_details, income, ' +
  'income_verification, standing_orders, transfer, employment, recurring_transactions, transactions_refresh, ' +
  'signal, statements, processor_payments, processor_identity, profile, cra_base_report, cra_income_insights, ' +
  'cra_partner_insights, cra_network_insights, cra_cashflow_insights, cra_monitoring, cra_lend_score, ' +
  'cra_plaid_credit_score, layer, pay_by_bank, protect_linked_bank, protect_transactions'
const ONE_LIST =
  'list each product in only one of PLAID_PRODUCTS, PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS, PLAID_OPTIONAL_PRODUCTS'
const COUNTRIES_HOW =
  'set it to a comma list of upper-case codes from: US, GB, ES, NL, FR, IE, CA, DE, IT, PL, DK, NO, SE, EE, LT, LV, PT, BE, AT, FI'
const LANGUAGE_HOW = 'set it to one of: da, nl, en, et, fr, de, hi, it, lv, lt, no, pl, pt, ro, es, sv, vi'
const JWT_ALG_HOW =
  'set it to HS256, HS384 or HS512 (or set JWT_JWKS_URL for tokens signed with a private key: RSA, ECDSA, EdDSA)'
const JWKS_ALG_HOW =
  'with JWT_JWKS_URL, set it to a comma list of: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA ' +
  '(HMAC algorithms need JWT_SECRET instead)'
const BASE_URL_HOW =
  'set it to the https:// URL of Plaid or of a proxy in front of it (plain http:// only in local development ' +
  'or for localhost, 127.0.0.1, [::1], *.localhost and *.test)'
const WEBHOOK_URL_HOW =
  "set it to the https:// URL of this API's webhook route (https://<host>/api/v1/banking/webhooks)"
const ORIGINS_HOW =
  'set it to a comma list of origins exactly as browsers send them, such as ' +
  'https://app.example.com,http://localhost:5173 (scheme://host[:port] in lower case, no path, no trailing slash, ' +
  'no wildcard)'

/** The detail must name the setting, never any part of the value that was wrong. */
function expectNoValue(detail: unknown, overrides: Partial<Bindings>, fragments: string[]) {
  const values = Object.values(overrides).filter((v): v is string => typeof v === 'string' && v.trim() !== '')
  for (const leaked of [...values.map((v) => v.trim()), ...fragments]) expect(detail).not.toContain(leaked)
}

async function linkToken(overrides: Partial<Bindings>) {
  const env = testEnv(overrides)
  const res = await api.linkToken(env, await mintToken())
  return { res, calls: await emulator.calls(env) }
}

describe('settings', () => {
  // A string is the whole problem the detail must report; a RegExp, a part of it. The last
  // column lists fragments of the bad value the detail must not contain.
  it.each<[string, Partial<Bindings>, RegExp | string, string[]]>([
    [
      'PLAID_SECRET is missing',
      { PLAID_SECRET: undefined },
      /PLAID_SECRET is not set; run `wrangler secret put PLAID_SECRET`/,
      [],
    ],
    ['PLAID_SECRET is blank', { PLAID_SECRET: '   ' }, `PLAID_SECRET is blank; ${secretHow('PLAID_SECRET')}`, []],
    [
      'PLAID_CLIENT_ID is empty',
      { PLAID_CLIENT_ID: '' },
      `PLAID_CLIENT_ID is blank; ${secretHow('PLAID_CLIENT_ID')}`,
      [],
    ],
    [
      'PLAID_SECRET has a trailing space',
      { PLAID_SECRET: 'emulator-secret ' },
      /PLAID_SECRET has leading or trailing spaces or quotes; store the bare value/,
      ['emulator-secret'],
    ],
    [
      'PLAID_CLIENT_ID is quoted',
      { PLAID_CLIENT_ID: '"abc123"' },
      /PLAID_CLIENT_ID has leading or trailing spaces or quotes/,
      ['abc123'],
    ],
    [
      'PLAID_ENV is development',
      { PLAID_ENV: 'development' },
      'PLAID_ENV names an environment Plaid decommissioned in June 2024; set it to sandbox or production',
      ['develop'],
    ],
    ['PLAID_ENV is unknown', { PLAID_ENV: 'staging' }, /PLAID_ENV must be sandbox or production/, []],
    [
      'PLAID_PRODUCTS has an unknown product',
      { PLAID_PRODUCTS: 'transactions,banana' },
      `PLAID_PRODUCTS contains an unknown product; ${PRODUCTS_HOW}`,
      ['banana'],
    ],
    [
      'PLAID_PRODUCTS has an empty entry',
      { PLAID_PRODUCTS: 'transactions,,auth' },
      /PLAID_PRODUCTS has an empty entry/,
      [],
    ],
    [
      'PLAID_OPTIONAL_PRODUCTS has an unknown product',
      { PLAID_OPTIONAL_PRODUCTS: 'identity,banana' },
      `PLAID_OPTIONAL_PRODUCTS contains an unknown product; ${PRODUCTS_HOW}`,
      ['banana'],
    ],
    [
      'PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS has an unknown product',
      { PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: 'Identity' },
      `PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS contains an unknown product; ${PRODUCTS_HOW}`,
      ['Identity'],
    ],
    [
      'PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS has an empty entry',
      { PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: 'liabilities,,identity' },
      `PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS has an empty entry; remove the extra comma (${PRODUCTS_HOW})`,
      [],
    ],
    [
      'PLAID_OPTIONAL_PRODUCTS repeats a product of the default PLAID_PRODUCTS',
      { PLAID_OPTIONAL_PRODUCTS: 'identity,auth' },
      `PLAID_OPTIONAL_PRODUCTS names a product that PLAID_PRODUCTS names too; ${ONE_LIST}`,
      ['auth'],
    ],
    [
      'PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS repeats a product of PLAID_PRODUCTS',
      { PLAID_PRODUCTS: 'transactions,identity', PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: 'identity' },
      `PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS names a product that PLAID_PRODUCTS names too; ${ONE_LIST}`,
      ['identity'],
    ],
    [
      'PLAID_OPTIONAL_PRODUCTS repeats a product of PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS',
      { PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: 'identity', PLAID_OPTIONAL_PRODUCTS: 'liabilities,identity' },
      `PLAID_OPTIONAL_PRODUCTS names a product that PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS names too; ${ONE_LIST}`,
      ['identity', 'liabilities'],
    ],
    [
      'PLAID_COUNTRY_CODES has an unknown code',
      { PLAID_COUNTRY_CODES: 'US,XX' },
      `PLAID_COUNTRY_CODES contains an unknown country code; ${COUNTRIES_HOW}`,
      ['XX'],
    ],
    [
      'PLAID_COUNTRY_CODES is lower case',
      { PLAID_COUNTRY_CODES: 'us' },
      `PLAID_COUNTRY_CODES contains an unknown country code; ${COUNTRIES_HOW}`,
      [],
    ],
    ['PLAID_LANGUAGE is unknown', { PLAID_LANGUAGE: 'klingon' }, /PLAID_LANGUAGE must be one of/, []],
    [
      'PLAID_CLIENT_NAME is over 30 characters',
      { PLAID_CLIENT_NAME: 'A Very Long Application Name Indeed' },
      'PLAID_CLIENT_NAME is longer than 30 characters; shorten it, or Link shows "This Application" instead',
      ['Long Application'],
    ],
    ['PLAID_CLIENT_NAME is missing', { PLAID_CLIENT_NAME: undefined }, /PLAID_CLIENT_NAME is not set/, []],
    [
      'PLAID_WEBHOOK_URL is not a URL',
      { PLAID_WEBHOOK_URL: 'not a url' },
      `PLAID_WEBHOOK_URL is not a valid absolute URL; ${WEBHOOK_URL_HOW}`,
      [],
    ],
    [
      'PLAID_WEBHOOK_URL is plain http',
      { PLAID_WEBHOOK_URL: 'http://api.example.com/hook' },
      /PLAID_WEBHOOK_URL must be an https:\/\/ URL/,
      ['api.example.com'],
    ],
    [
      'PLAID_REDIRECT_URI has a query',
      { PLAID_REDIRECT_URI: 'https://app.example.com/oauth-return?from=plaid' },
      'PLAID_REDIRECT_URI must not contain a query or fragment; set it to the https:// OAuth redirect URI registered in the Plaid Dashboard',
      ['app.example.com', 'from=plaid'],
    ],
    [
      'PLAID_BASE_URL is malformed',
      { PLAID_BASE_URL: 'proxy.internal' },
      `PLAID_BASE_URL is not a valid absolute URL; ${BASE_URL_HOW}`,
      [],
    ],
    [
      'PLAID_CLIENT_USER_ID_KEY is missing',
      { PLAID_CLIENT_USER_ID_KEY: undefined },
      `PLAID_CLIENT_USER_ID_KEY is not set; ${secretHow('PLAID_CLIENT_USER_ID_KEY')}`,
      [],
    ],
    [
      'PLAID_CLIENT_USER_ID_KEY is not 32 bytes',
      { PLAID_CLIENT_USER_ID_KEY: btoa('a-key-of-only-20-bytes') },
      'PLAID_CLIENT_USER_ID_KEY must be base64 of exactly 32 random bytes (openssl rand -base64 32)',
      [],
    ],
    ...['-1', '301', '1.5', 'sixty', '60s'].map((skew): [string, Partial<Bindings>, string, string[]] => [
      `JWT_CLOCK_SKEW_SECONDS is ${skew}`,
      { JWT_CLOCK_SKEW_SECONDS: skew },
      'JWT_CLOCK_SKEW_SECONDS must be a whole number of seconds from 0 to 300',
      [],
    ]),
    // 0 is refused too (test/routes/link-token.test.ts); here its digit would be found in "730".
    ...['731', '-30', '90 days', '1e2', '30.0', '0x10'].map((days): [string, Partial<Bindings>, string, string[]] => [
      `PLAID_TRANSACTIONS_DAYS_REQUESTED is ${days}`,
      { PLAID_TRANSACTIONS_DAYS_REQUESTED: days },
      'PLAID_TRANSACTIONS_DAYS_REQUESTED must be a whole number of days from 1 to 730',
      [],
    ]),
    // 0 to 9 are refused too (below); here their digit would be found in "10 to 3600".
    ...['-5', '3601', '7200', '30.5', '5m', '1e2'].map((grace): [string, Partial<Bindings>, string, string[]] => [
      `PENDING_LINK_GRACE_SECONDS is ${grace}`,
      { PENDING_LINK_GRACE_SECONDS: grace },
      'PENDING_LINK_GRACE_SECONDS must be a whole number of seconds from 10 to 3600',
      [],
    ]),
    [
      'PLAID_TIMEOUT_MS is over 10 s',
      { PLAID_TIMEOUT_MS: '20000' },
      /PLAID_TIMEOUT_MS must be a whole number of milliseconds from 1 to 10000/,
      [],
    ],
    ['JWT_ALG is RS256', { JWT_ALG: 'RS256' }, /JWT_ALG must be one of HS256, HS384, HS512/, []],
    [
      'ALLOWED_ORIGINS is quoted',
      { ALLOWED_ORIGINS: '"https://web.shop.example"' },
      'ALLOWED_ORIGINS has leading or trailing spaces or quotes; store the bare value',
      ['web.shop.example'],
    ],
    [
      'an ALLOWED_ORIGINS entry has a path',
      { ALLOWED_ORIGINS: 'https://web.shop.example/app' },
      `ALLOWED_ORIGINS contains an entry that is not an origin; ${ORIGINS_HOW}`,
      ['web.shop.example'],
    ],
    [
      'an ALLOWED_ORIGINS entry has a trailing slash',
      { ALLOWED_ORIGINS: 'https://web.shop.example/' },
      `ALLOWED_ORIGINS contains an entry that is not an origin; ${ORIGINS_HOW}`,
      ['web.shop.example'],
    ],
    [
      'an ALLOWED_ORIGINS entry is upper case',
      { ALLOWED_ORIGINS: 'https://Web.Shop.example' },
      `ALLOWED_ORIGINS contains an entry that is not an origin; ${ORIGINS_HOW}`,
      ['Shop'],
    ],
    [
      'an ALLOWED_ORIGINS entry has no scheme',
      { ALLOWED_ORIGINS: 'https://web.shop.example, admin.shop.example' },
      `ALLOWED_ORIGINS contains an entry that is not an origin; ${ORIGINS_HOW}`,
      ['shop.example'],
    ],
    [
      'an ALLOWED_ORIGINS entry is not http or https',
      { ALLOWED_ORIGINS: 'ftp://files.shop.example' },
      `ALLOWED_ORIGINS contains an entry that is not an origin; ${ORIGINS_HOW}`,
      ['shop.example'],
    ],
    [
      'ALLOWED_ORIGINS is a wildcard',
      { ALLOWED_ORIGINS: '*' },
      `ALLOWED_ORIGINS contains an entry that is not an origin; ${ORIGINS_HOW}`,
      [],
    ],
    [
      'ALLOWED_ORIGINS has an empty entry',
      { ALLOWED_ORIGINS: 'https://web.shop.example,,https://admin.shop.example' },
      `ALLOWED_ORIGINS has an empty entry; remove the extra comma (${ORIGINS_HOW})`,
      ['shop.example'],
    ],
  ])('answers 500 naming the setting when %s, and does not call Plaid', async (_, overrides, detail, fragments) => {
    const { res, calls } = await linkToken(overrides)
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/^Failed to create link token: server misconfigured: /)
    if (typeof detail === 'string') expect(res.body.detail).toBe(MISCONFIGURED + detail)
    else expect(res.body.detail).toMatch(detail)
    expectNoValue(res.body.detail, overrides, fragments)
    expect(calls).toEqual({})
  })

  const BLANKS = ['', ' \t ']
  // Every setting with a default or that may stay unset: blank is neither, so it must not
  // quietly become the default (a blank PLAID_ENV would send a production Worker to the Sandbox,
  // a blank JWT_AUDIENCE would turn its check off). The dev defaults do not cover blanks either.
  const blankCases: [keyof Bindings, Partial<Bindings>, string | RegExp][] = [
    ['PLAID_ENV', {}, 'PLAID_ENV is blank; set it to sandbox or production, or delete it to use the default (sandbox)'],
    [
      'PLAID_PRODUCTS',
      {},
      `PLAID_PRODUCTS is blank; ${PRODUCTS_HOW}, or delete it to use the default (transactions,auth)`,
    ],
    [
      'PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS',
      {},
      `PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS is blank; ${PRODUCTS_HOW}, or delete it to ask for none`,
    ],
    ['PLAID_OPTIONAL_PRODUCTS', {}, `PLAID_OPTIONAL_PRODUCTS is blank; ${PRODUCTS_HOW}, or delete it to ask for none`],
    ['PLAID_COUNTRY_CODES', {}, `PLAID_COUNTRY_CODES is blank; ${COUNTRIES_HOW}, or delete it to use the default (US)`],
    ['PLAID_LANGUAGE', {}, `PLAID_LANGUAGE is blank; ${LANGUAGE_HOW}, or delete it to use the default (en)`],
    ['JWT_ALG', {}, `JWT_ALG is blank; ${JWT_ALG_HOW}, or delete it to use the default (HS256)`],
    [
      'JWT_ALG',
      { JWT_SECRET: undefined, JWT_JWKS_URL: 'https://idp.test/tenant/.well-known/jwks.json' },
      `JWT_ALG is blank; ${JWKS_ALG_HOW}, or delete it to use the default (RS256)`,
    ],
    [
      'PLAID_TIMEOUT_MS',
      {},
      /^PLAID_TIMEOUT_MS is blank; set it to a whole number of milliseconds from 1 to \d+, or delete it to use the default \(\d+\)$/,
    ],
    [
      'PLAID_TRANSACTIONS_DAYS_REQUESTED',
      {},
      'PLAID_TRANSACTIONS_DAYS_REQUESTED is blank; set it to a whole number of days from 1 to 730, or delete it to use the default (730)',
    ],
    [
      'PLAID_BALANCE_TIMEOUT_MS',
      {},
      /^PLAID_BALANCE_TIMEOUT_MS is blank; set it to a whole number of milliseconds from 1 to \d+, or delete it to use the default \(\d+\)$/,
    ],
    [
      'PENDING_LINK_GRACE_SECONDS',
      {},
      'PENDING_LINK_GRACE_SECONDS is blank; set it to a whole number of seconds from 10 to 3600, or delete it to use the default (300)',
    ],
    [
      'JWT_CLOCK_SKEW_SECONDS',
      {},
      'JWT_CLOCK_SKEW_SECONDS is blank; set it to a whole number of seconds from 0 to 300, or delete it to use the default (60)',
    ],
    [
      'JWT_ISSUER',
      {},
      'JWT_ISSUER is blank; set it to the exact `iss` your tokens carry, or delete it to skip the issuer check',
    ],
    [
      'JWT_AUDIENCE',
      {},
      'JWT_AUDIENCE is blank; set it to an `aud` your tokens must contain, or delete it to skip the audience check',
    ],
    [
      'JWT_JWKS_URL',
      {},
      "JWT_JWKS_URL is blank; set it to the https:// URL of your identity provider's JWKS, or delete it to verify tokens with JWT_SECRET",
    ],
    ['PLAID_BASE_URL', {}, `PLAID_BASE_URL is blank; ${BASE_URL_HOW}, or delete it to use Plaid's host for PLAID_ENV`],
    [
      'PLAID_WEBHOOK_URL',
      {},
      `PLAID_WEBHOOK_URL is blank; ${WEBHOOK_URL_HOW}, or delete it to create Items without webhooks`,
    ],
    [
      'PLAID_REDIRECT_URI',
      {},
      'PLAID_REDIRECT_URI is blank; set it to the https:// OAuth redirect URI registered in the Plaid Dashboard, ' +
        'or delete it to link without OAuth redirects',
    ],
    [
      'PLAID_CLIENT_NAME',
      {},
      'PLAID_CLIENT_NAME is blank; set it in wrangler.toml [vars] to the app name Link should show, at most 30 characters',
    ],
    [
      'TOKEN_ENCRYPTION_KEYS_OLD',
      {},
      'TOKEN_ENCRYPTION_KEYS_OLD is blank; set it to a comma list of previous TOKEN_ENCRYPTION_KEY values, ' +
        'or delete it if no stored access token was sealed with a previous key',
    ],
    ['ALLOWED_ORIGINS', {}, `ALLOWED_ORIGINS is blank; ${ORIGINS_HOW}, or delete it to give no origin CORS headers`],
    [
      'JWT_SECRET',
      { LOCAL_DEV: 'true' },
      `JWT_SECRET is blank; ${secretHow('JWT_SECRET')}, or delete it to use the development default`,
    ],
    [
      'PLAID_CLIENT_USER_ID_KEY',
      { LOCAL_DEV: 'true' },
      `PLAID_CLIENT_USER_ID_KEY is blank; ${secretHow('PLAID_CLIENT_USER_ID_KEY')}, or delete it to use the development default`,
    ],
    [
      'TOKEN_ENCRYPTION_KEY',
      { LOCAL_DEV: 'true' },
      `TOKEN_ENCRYPTION_KEY is blank; ${secretHow('TOKEN_ENCRYPTION_KEY')}, or delete it to use the development default`,
    ],
    [
      'PLAID_CLIENT_ID',
      { LOCAL_DEV: 'true', PLAID_SECRET: undefined },
      `PLAID_CLIENT_ID is blank; ${DEV_KEY_HOW}; PLAID_SECRET is not set; ${DEV_KEY_HOW}`,
    ],
    [
      'PLAID_SECRET',
      { LOCAL_DEV: 'true', PLAID_CLIENT_ID: undefined },
      `PLAID_CLIENT_ID is not set; ${DEV_KEY_HOW}; PLAID_SECRET is blank; ${DEV_KEY_HOW}`,
    ],
  ]
  it.each(
    blankCases.flatMap(([name, others, problem]) =>
      BLANKS.map((blank) => {
        const context = Object.keys(others).length > 0 ? ` with ${JSON.stringify(others)}` : ''
        return [name, JSON.stringify(blank), context, { ...others, [name]: blank }, problem] as const
      }),
    ),
  )(
    'answers 500 naming %s when it is blank (%s)%s rather than using its default',
    async (_name, _blank, _context, overrides, problem) => {
      const res = await api.linkToken(testEnv(overrides), await mintToken())
      expect(res.status).toBe(500)
      if (typeof problem === 'string') expect(res.body.detail).toBe(MISCONFIGURED + problem)
      else expect((res.body.detail as string).slice(MISCONFIGURED.length)).toMatch(problem)
    },
  )

  it('gives pending links 5 minutes by default, and PENDING_LINK_GRACE_SECONDS when set', () => {
    expect(getConfig(testEnv()).pendingLinkGraceMs).toBe(300_000)
    expect(getConfig(testEnv({ PENDING_LINK_GRACE_SECONDS: '10' })).pendingLinkGraceMs).toBe(10_000)
    expect(getConfig(testEnv({ PENDING_LINK_GRACE_SECONDS: '3600' })).pendingLinkGraceMs).toBe(3_600_000)
    // Shorter than an exchange request can take: the job would race the request storing the Item.
    for (const grace of ['0', '9']) {
      expect(() => getConfig(testEnv({ PENDING_LINK_GRACE_SECONDS: grace }))).toThrow(
        /PENDING_LINK_GRACE_SECONDS must be a whole number of seconds from 10 to 3600/,
      )
    }
  })

  it('never shows the value of a malformed secret', async () => {
    const { res } = await linkToken({ PLAID_SECRET: ' s3cr3t-value ' })
    expect(res.status).toBe(500)
    expect(res.body).toEqual({
      detail: `${MISCONFIGURED}PLAID_SECRET has leading or trailing spaces or quotes; store the bare value`,
    })
    expect(res.text).not.toContain('s3cr3t-value')
  })

  it('names every bad setting at once', async () => {
    const { res } = await linkToken({ PLAID_SECRET: undefined, PLAID_ENV: 'development' })
    expect(res.body.detail).toMatch(
      /PLAID_ENV names an environment Plaid decommissioned in June 2024; set it to sandbox or production/,
    )
    expect(res.body.detail).toMatch(/PLAID_SECRET is not set/)
  })

  it('answers 500 (not 401) when JWT_SECRET is missing on a deployed Worker', async () => {
    const env = testEnv({ JWT_SECRET: undefined })
    const res = await api.linkToken(env, await mintToken())
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/JWT_SECRET is not set; run `wrangler secret put JWT_SECRET`/)
  })

  it('answers 500 when JWT_SECRET is shorter than the hash (RFC 7518)', async () => {
    const env = testEnv({ JWT_SECRET: 'short' })
    const res = await api.linkToken(env, await mintToken({}, { secret: 'short' }))
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/JWT_SECRET is too short for HS256; use at least 32 bytes/)
    expect(res.text).not.toContain('"short"')
  })

  it('does not fall back to the emulator or a dev secret without LOCAL_DEV', async () => {
    const { res } = await linkToken({ PLAID_CLIENT_ID: undefined, PLAID_SECRET: undefined, PLAID_BASE_URL: undefined })
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/PLAID_CLIENT_ID is not set.*PLAID_SECRET is not set/)
  })

  it('accepts several products and country codes, and sends them to Plaid as lists', async () => {
    const env = testEnv({ PLAID_PRODUCTS: 'transactions, auth,identity', PLAID_COUNTRY_CODES: 'US,CA' })
    const res = await api.linkToken(env, await mintToken())
    expect(res.status).toBe(200)
    expect(res.body.link_token).toMatch(/^link-sandbox-/)
    expect(await emulator.linkTokens(env)).toMatchObject([
      { link_token: res.body.link_token, products: ['transactions', 'auth', 'identity'], country_codes: ['US', 'CA'] },
    ])
  })

  it('sends required-if-supported and optional products to Plaid beside the default products', async () => {
    const env = testEnv({
      PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS: 'identity',
      PLAID_OPTIONAL_PRODUCTS: 'liabilities,investments, liabilities',
    })
    const res = await api.linkToken(env, await mintToken())
    expect(res.status).toBe(200)
    expect(await emulator.linkTokens(env)).toMatchObject([
      {
        link_token: res.body.link_token,
        products: ['transactions', 'auth'],
        required_if_supported_products: ['identity'],
        optional_products: ['liabilities', 'investments'],
      },
    ])
  })
})

describe('which Plaid host the settings pick', () => {
  const hostFor = async (overrides: Partial<Bindings>) => {
    const env = testEnv({ PLAID_BASE_URL: undefined, ...overrides })
    const res = await api.linkToken(env, await mintToken())
    return res.body.detail
  }

  it('uses Plaid Sandbox by default', async () => {
    expect(await hostFor({})).toBe('Failed to create link token: request went to sandbox.plaid.com')
  })

  it('uses Plaid Production with PLAID_ENV=production', async () => {
    expect(await hostFor({ PLAID_ENV: 'production' })).toBe(
      'Failed to create link token: request went to production.plaid.com',
    )
  })

  it('uses the local emulator in local development without Plaid credentials', async () => {
    expect(await hostFor({ LOCAL_DEV: 'true', PLAID_CLIENT_ID: undefined, PLAID_SECRET: undefined })).toBe(
      'Failed to create link token: request went to 127.0.0.1:8788',
    )
  })

  it("uses Plaid's Sandbox in local development once .dev.vars has Sandbox credentials", async () => {
    expect(await hostFor({ LOCAL_DEV: 'true', PLAID_ENV: 'sandbox' })).toBe(
      'Failed to create link token: request went to sandbox.plaid.com',
    )
  })

  it('keys client_user_id with the development key in local development when PLAID_CLIENT_USER_ID_KEY is unset', async () => {
    const env = testEnv({ LOCAL_DEV: 'true', PLAID_CLIENT_USER_ID_KEY: undefined })
    const res = await api.linkToken(env, await mintToken({ sub: 'dev-user' }))
    expect(res.status).toBe(200)
    const devKey = { PLAID_CLIENT_USER_ID_KEY: DEV_CLIENT_USER_ID_KEY }
    expect((await emulator.linkTokens(env)).map((t) => t.client_user_id)).toEqual([
      await expectedClientUserId(devKey, 'dev-user'),
    ])
  })

  it("uses the emulator's keys in local development without Plaid keys wherever PLAID_BASE_URL points", async () => {
    // The emulator moved off its usual port, as the port-in-use hint of `npm run dev` suggests.
    const env = testEnv({
      LOCAL_DEV: 'true',
      PLAID_BASE_URL: 'http://plaid.test',
      PLAID_CLIENT_ID: undefined,
      PLAID_SECRET: undefined,
    })
    const devKeys = { PLAID_CLIENT_ID: EMULATOR_CLIENT_ID } as TestEnv
    const before = (await emulator.calls(devKeys))['/link/token/create'] ?? 0
    const res = await api.linkToken(env, await mintToken())
    expect(res.status).toBe(200)
    expect(res.body.link_token).toEqual(expect.any(String))
    expect((await emulator.calls(devKeys))['/link/token/create']).toBe(before + 1)
  })
})

describe('PLAID_BASE_URL over plain http', () => {
  const listItems = async (overrides: Partial<Bindings>) => api.items(testEnv(overrides), await mintToken())

  it.each([
    'http://plaid-proxy.example.com',
    'http://sandbox.plaid.com',
    'http://plaid.test.example.com',
    'http://localhost.example.com',
    'http://10.0.0.5:8788',
  ])('is refused for %s on a deployed Worker, which would send PLAID-SECRET in clear', async (url) => {
    const res = await listItems({ PLAID_BASE_URL: url })
    expect(res.status).toBe(500)
    expect(res.body.detail).toBe(
      `Failed to list items: server misconfigured: PLAID_BASE_URL must be an https:// URL; ${BASE_URL_HOW}`,
    )
    expect(res.body.detail).not.toContain(new URL(url).hostname)
  })

  it.each([
    'http://localhost:8788',
    'http://127.0.0.1:8788',
    'http://[::1]:8788',
    'http://plaid.test',
    'http://emulator.localhost:8788',
  ])('is accepted for the loopback or reserved host of %s', async (url) => {
    const res = await listItems({ PLAID_BASE_URL: url })
    expect(res.status).toBe(200)
    expect(res.body.items).toEqual([])
  })

  it('is accepted for any host in local development', async () => {
    const env = testEnv({ LOCAL_DEV: 'true', PLAID_BASE_URL: 'http://sandbox.plaid.com' })
    const res = await api.linkToken(env, await mintToken())
    expect(res.body.detail).toBe('Failed to create link token: request went to sandbox.plaid.com')
  })
})

describe('ALLOWED_ORIGINS', () => {
  const ORIGINS = ['https://web.shop.example', 'http://localhost:5173', 'https://admin.shop.example:8443']

  it.each(ORIGINS)(
    'accepts a comma list of origins, with or without ports and spaces after commas, and gives %s CORS headers',
    async (origin) => {
      const env = testEnv({ ALLOWED_ORIGINS: `${ORIGINS[0]}, ${ORIGINS[1]},${ORIGINS[2]}` })
      const res = await api.items(env, await mintToken(), { headers: { Origin: origin } })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ items: [] })
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin)
    },
  )
})

describe('GET /readyz', () => {
  it('answers 200 ready when every setting is valid', async () => {
    const res = await call(testEnv(), 'GET', '/readyz')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ready' })
  })

  it('answers 503 naming every bad setting, and none of their values, while /healthz stays ok', async () => {
    const overrides = {
      PLAID_SECRET: undefined,
      PLAID_OPTIONAL_PRODUCTS: 'identity,banana',
      ALLOWED_ORIGINS: 'https://web.shop.example/app',
    }
    const env = testEnv(overrides)
    const res = await call(env, 'GET', '/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({
      detail:
        `server misconfigured: PLAID_SECRET is not set; ${secretHow('PLAID_SECRET')}; ` +
        `PLAID_OPTIONAL_PRODUCTS contains an unknown product; ${PRODUCTS_HOW}; ` +
        `ALLOWED_ORIGINS contains an entry that is not an origin; ${ORIGINS_HOW}`,
      settings: ['PLAID_SECRET', 'PLAID_OPTIONAL_PRODUCTS', 'ALLOWED_ORIGINS'],
    })
    expectNoValue(res.body.detail, overrides, ['banana', 'shop.example'])
    const live = await call(env, 'GET', '/healthz')
    expect(live.status).toBe(200)
    expect(live.body).toEqual({ status: 'ok' })
  })

  it('names a missing binding', async () => {
    const res = await call(testEnv({ DB: undefined }), 'GET', '/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({
      detail: 'server misconfigured: DB (the D1 binding) is missing; add [[d1_databases]] to wrangler.toml',
      settings: ['DB'],
    })
  })

  it('names a missing Durable Object binding', async () => {
    const res = await call(testEnv({ USER_STORE: undefined }), 'GET', '/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({
      detail:
        'server misconfigured: USER_STORE (the Durable Object binding) is missing; add [[durable_objects.bindings]] to wrangler.toml',
      settings: ['USER_STORE'],
    })
  })
})

describe('JWT_ALG', () => {
  it.each([
    ['HS384', 48],
    ['HS512', 64],
  ] as const)('accepts a token signed with the configured %s', async (alg, bytes) => {
    const secret = `${TEST_JWT_SECRET}-${'k'.repeat(bytes)}`
    const env = testEnv({ JWT_ALG: alg, JWT_SECRET: secret })
    const res = await api.items(env, await mintToken({}, { secret, alg }))
    expect(res.status).toBe(200)
    expect(res.body.items).toEqual([])
  })

  it.each(['HS384', 'HS512'] as const)('refuses an HS256 token when JWT_ALG is %s', async (alg) => {
    const secret = `${TEST_JWT_SECRET}-${'k'.repeat(64)}`
    const env = testEnv({ JWT_ALG: alg, JWT_SECRET: secret })
    const res = await api.items(env, await mintToken({}, { secret }))
    expect(res.status).toBe(401)
    expect(res.body.detail).toBe('token algorithm is not accepted')
  })
})

describe('the vars in wrangler.toml', () => {
  /** The `NAME = "value"` lines of each vars block, as wrangler hands them to the Worker. */
  const blocks: [string, Record<string, string>][] = [
    ...wranglerToml.matchAll(/^\[((?:env\.\w+\.)?vars)\]\n([\s\S]*?)(?=^\[)/gm),
  ].map(([, block = '', body = '']) => [
    block,
    Object.fromEntries([...body.matchAll(/^(\w+) = "(.*)"$/gm)].map(([, k, v]) => [k, v])),
  ])

  it('has a [vars] block for each deployment', () => {
    expect(blocks.map(([block]) => block)).toEqual(['vars', 'env.production.vars', 'env.sandbox.vars'])
  })

  // A fresh deploy gets exactly these (and secrets): an empty placeholder would stop every route.
  it.each(blocks)('configure a Worker deployed with [%s]', async (_, vars) => {
    expect(vars).toHaveProperty('PLAID_ENV')
    const res = await api.items(testEnv(vars), await mintToken())
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ items: [] })
    expect((await call(testEnv(vars), 'GET', '/readyz')).body).toEqual({ status: 'ready' })
  })
})
