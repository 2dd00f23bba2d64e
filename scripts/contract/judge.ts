/** One recorded exchange judged against the spec, and the self-check of synthetic exchanges of known verdict. */
import type { Exchange } from '../../emulator/emulator'
import { PLAID_VERSION } from '../../src/plaid/version'
import {
  ajvMessages,
  field,
  isObject,
  type JsonObject,
  jsonSchemaOf,
  PLAID_ERROR,
  type SpecSchemas,
  unknownFields,
} from './spec'

/** Marks a request sent malformed on purpose (test/emulator/plaid.ts); lowercase, as recorded. */
export const MALFORMED_HEADER = 'x-contract-malformed'
export type Violation = { path: string; side: 'request' | 'response'; message: string }

/** Headers by name only: their values are credentials and must never reach the log. */
function headerProblems(headers: Record<string, string>): string[] {
  const problems: string[] = []
  if (!headers['plaid-client-id']) problems.push('header PLAID-CLIENT-ID is missing or empty')
  if (!headers['plaid-secret']) problems.push('header PLAID-SECRET is missing or empty')
  if (headers['plaid-version'] !== PLAID_VERSION)
    problems.push(`header Plaid-Version is missing or not ${PLAID_VERSION}`)
  const contentType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (contentType !== 'application/json') problems.push('header Content-Type is missing or not application/json')
  return problems
}

/** The parsed spec, as the checks need it. */
export type Spec = { paths: JsonObject; schemas: SpecSchemas }

type Judgement = {
  violations: Violation[]
  /** Answers the emulator marks as injected faults: not Plaid's contract, so not checked. */
  injected: boolean
  /** Whether the answer was validated against a documented schema. */
  responseChecked: boolean
  /** Marked with MALFORMED_HEADER: its request breaks the spec on purpose. */
  malformedOnPurpose: boolean
}

/** Every problem with one exchange: its request (headers, body) and its answer. */
export function judge({ paths, schemas }: Spec, exchange: Exchange): Judgement {
  const { path } = exchange
  const requestProblems: string[] = [...headerProblems(exchange.headers)]
  const responseProblems: string[] = []
  const operation = field(paths[path], 'post')
  let injected = false
  let responseChecked = false

  if (!isObject(operation)) {
    requestProblems.push('POST to a path the spec does not define')
  } else {
    const requestSchema = jsonSchemaOf(field(operation, 'requestBody'))
    if (exchange.request === undefined) requestProblems.push('body is missing or not JSON')
    else if (requestSchema === undefined) requestProblems.push('the spec defines no JSON request body for this path')
    else {
      const validate = schemas.validator(requestSchema)
      if (!validate(exchange.request)) requestProblems.push(...ajvMessages(validate.errors))
      const unknown: string[] = []
      unknownFields(schemas, exchange.request, requestSchema, '', unknown)
      for (const pointer of unknown) requestProblems.push(`${pointer} is not a field the spec defines (UNKNOWN_FIELDS)`)
    }

    if (exchange.injected !== undefined) {
      // Faults asked for through the emulator's control API (HTML error pages, garbage, answers
      // missing fields) exercise the Worker's error handling, not Plaid's contract.
      injected = true
    } else if (typeof exchange.response === 'string') {
      responseProblems.push('answer is not JSON')
    } else {
      const responses = field(operation, 'responses')
      const ok = exchange.status >= 200 && exchange.status < 300
      const code = String(exchange.status)
      const documented = field(responses, code) ?? field(responses, ok ? '200' : 'default')
      // Some paths (46 in spec 1.697.4: Beacon, Watchlist Screening, ...) document no `default`
      // answer, but Plaid's errors are PlaidError objects on every path.
      const responseSchema = jsonSchemaOf(documented) ?? (ok ? undefined : PLAID_ERROR)
      if (responseSchema === undefined) {
        responseProblems.push(`the spec documents no JSON answer for status ${code}`)
      } else {
        const validate = schemas.validator(responseSchema)
        responseChecked = true
        if (!validate(exchange.response)) responseProblems.push(...ajvMessages(validate.errors))
      }
    }
  }

  // The emulator's own tests send requests Plaid must refuse, to pin down how it refuses them. Their
  // request problems are the point; the marker must still be earned (a request that meets the spec
  // would hide nothing and only weaken the check), and the answer is judged like any other.
  const reason = exchange.headers[MALFORMED_HEADER]
  const malformedOnPurpose = reason !== undefined
  if (malformedOnPurpose) {
    const earned = requestProblems.length > 0
    requestProblems.length = 0
    if (!earned) requestProblems.push(`marked ${MALFORMED_HEADER}: ${reason}, but the request meets the spec`)
  }
  const violations = [
    ...requestProblems.map((message) => ({ path, side: 'request' as const, message })),
    ...responseProblems.map((message) => ({ path, side: 'response' as const, message })),
  ]
  return { violations, injected, responseChecked, malformedOnPurpose }
}

const SELF_CHECK_HEADERS = {
  'plaid-client-id': 'self-check',
  'plaid-secret': '<redacted>',
  'plaid-version': PLAID_VERSION,
  'content-type': 'application/json',
}
const exchangeOk: Exchange = {
  path: '/item/public_token/exchange',
  status: 200,
  headers: SELF_CHECK_HEADERS,
  request: { public_token: 'public-sandbox-5c224a01-8314-4491-a06f-39e193d5cddc' },
  response: {
    access_token: 'access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6',
    item_id: 'M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op',
    request_id: 'Aim3b',
  },
}
const { 'plaid-version': _, ...withoutVersion } = SELF_CHECK_HEADERS
const linkTokenOk: Exchange = {
  path: '/link/token/create',
  status: 200,
  headers: SELF_CHECK_HEADERS,
  request: {
    client_name: 'Linked Accounts',
    language: 'en',
    country_codes: ['US'],
    user: { client_user_id: 'user-1' },
    products: ['transactions'],
    required_if_supported_products: ['identity'],
    optional_products: ['liabilities'],
  },
  response: {
    link_token: 'link-sandbox-af1a0311-da53-4636-b754-dd15cc058176',
    expiration: '2024-05-01T16:00:00Z',
    request_id: 'Aim3b',
  },
}

/**
 * Synthetic exchanges with a known verdict, judged before the recorded ones: a checker that lets
 * any of the bad ones through (a spec it misreads, a check that silently stopped running) would
 * pass every run, so the run fails instead. The good one guards against a checker that flags all.
 */
export const SELF_CHECK: Array<{ name: string; exchange: Exchange; bad: boolean }> = [
  { name: 'a valid /item/public_token/exchange', bad: false, exchange: exchangeOk },
  { name: 'a valid /link/token/create with optional product lists', bad: false, exchange: linkTokenOk },
  {
    name: 'an optional_products entry outside the Products enum',
    bad: true,
    exchange: { ...linkTokenOk, request: { ...(linkTokenOk.request as JsonObject), optional_products: ['banana'] } },
  },
  { name: 'no Plaid-Version header', bad: true, exchange: { ...exchangeOk, headers: withoutVersion } },
  {
    name: 'an unknown request field',
    bad: true,
    exchange: { ...exchangeOk, request: { public_token: 'public-sandbox-x', nickname: 'x' } },
  },
  {
    name: 'a value outside an enum',
    bad: true,
    exchange: {
      path: '/item/remove',
      status: 200,
      headers: SELF_CHECK_HEADERS,
      request: { access_token: 'access-sandbox-x', reason_code: 'BORED' },
      response: { request_id: 'Aim3b' },
    },
  },
  {
    name: 'an answer missing a required field',
    bad: true,
    exchange: { ...exchangeOk, response: { item_id: 'M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op', request_id: 'Aim3b' } },
  },
  {
    name: 'an error answer that is no PlaidError',
    bad: true,
    exchange: { ...exchangeOk, status: 400, response: { error: 'bad public token' } },
  },
  {
    name: `a request marked ${MALFORMED_HEADER} that meets the spec`,
    bad: true,
    exchange: { ...exchangeOk, headers: { ...SELF_CHECK_HEADERS, [MALFORMED_HEADER]: 'self-check' } },
  },
]

/** The names of the synthetic exchanges judged wrongly (empty: the checker can fail, and can pass). */
export function selfCheck(spec: Spec): string[] {
  return SELF_CHECK.filter(({ exchange, bad }) => judge(spec, exchange).violations.length > 0 !== bad).map(
    ({ name, bad }) => `${name}: ${bad ? 'not flagged' : 'flagged'}`,
  )
}
