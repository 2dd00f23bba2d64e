/**
 * Contract check (`npm test` runs it after vitest): every request the Worker sent to the Plaid
 * emulator during the tests, and every answer the emulator gave, is checked against Plaid's own
 * published OpenAPI spec. The emulator is our code, so tests passing against it prove nothing about
 * real Plaid unless both sides of each exchange match what Plaid documents.
 *
 * Checked per exchange in .contract/exchanges.jsonl:
 * - the path exists in the spec;
 * - the request body validates against the path's request schema, and names no field the schema
 *   does not list (Plaid answers UNKNOWN_FIELDS although the spec never says additionalProperties: false);
 * - the PLAID-CLIENT-ID, PLAID-SECRET, Plaid-Version and Content-Type headers are what Plaid expects;
 * - the JSON answer validates against the schema for its status (200 for 2xx, else the PlaidError default).
 * Answers the emulator marks as injected faults (non-JSON bodies, the `incomplete` fault) are counted as skipped.
 * Requests the emulator's own tests send malformed on purpose (header X-Contract-Malformed) must break
 * the spec, and only their answers are judged.
 *
 * It fails the run, too, when a synthetic exchange of known verdict is judged wrongly (the self-check,
 * which runs first), when an endpoint the Worker or the tests depend on has no successful exchange, and
 * when no valid, successful request carried a field of REQUIRED_REQUEST_FIELDS.
 *
 * The spec (../shared/plaid-openapi/2020-09-14.yml, or $PLAID_OPENAPI_SPEC) is Plaid's, under Plaid's
 * terms, so it is read in place and never copied into the project. $CONTRACT_EXCHANGES points the check
 * at another exchanges file; $CONTRACT_REQUIRED=1 (set in CI) makes a missing spec a failure.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'

const PLAID_VERSION = '2020-09-14'
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SPEC_FILE = resolve(
  process.env.PLAID_OPENAPI_SPEC || resolve(ROOT, `../shared/plaid-openapi/${PLAID_VERSION}.yml`),
)
const EXCHANGES_FILE = resolve(process.env.CONTRACT_EXCHANGES || resolve(ROOT, '.contract/exchanges.jsonl'))
const RESULT_FILE = resolve(ROOT, '.contract/contract-result.json')
const CLIENT_FILE = resolve(ROOT, 'src/plaid/client.ts')
/**
 * Every Plaid path the Worker calls (src/plaid/client.ts), and the Sandbox paths the tests use in
 * place of Link and of real bank events. Each must have a successful exchange in the run.
 */
const REQUIRED_ENDPOINTS = [
  '/link/token/create',
  '/item/public_token/exchange',
  '/accounts/get',
  '/accounts/balance/get',
  '/item/get',
  '/item/webhook/update',
  '/item/remove',
  '/transactions/sync',
  '/webhook_verification_key/get',
  '/sandbox/public_token/create',
  '/sandbox/item/fire_webhook',
]
/**
 * Optional request fields that some valid, successful exchange must carry, so the spec's rules
 * for them are checked in every run: a field the suite stopped sending would otherwise go
 * unchecked while the Worker still sends it whenever its setting is set.
 */
const REQUIRED_REQUEST_FIELDS: Record<string, string[]> = {
  '/link/token/create': ['required_if_supported_products', 'optional_products'],
}
/** Marks a request sent malformed on purpose (test/emulator/plaid.ts); lowercase, as recorded. */
const MALFORMED_HEADER = 'x-contract-malformed'
const SCHEMA_REF = '#/components/schemas/'
const PLAID_ERROR = { $ref: `${SCHEMA_REF}PlaidError` }

type JsonObject = Record<string, unknown>
type Exchange = {
  path: string
  status: number
  headers: Record<string, string>
  request: unknown
  response: unknown
  injected?: string
}
type Side = 'request' | 'response'
type Violation = { path: string; side: Side; message: string }
type PathStats = { requests: number; responses: number; injected: number; malformedOnPurpose: number }

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const field = (value: unknown, key: string): unknown => (isObject(value) ? value[key] : undefined)
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function writeResult(passed: number, failed: number): void {
  mkdirSync(dirname(RESULT_FILE), { recursive: true })
  writeFileSync(RESULT_FILE, `${JSON.stringify({ passed, failed })}\n`)
}

/** Turns OpenAPI 3.0 schemas into JSON Schema draft-07 for Ajv, one component at a time. */
class SpecSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true })
  private readonly added = new Set<string>()
  private readonly compiled = new Map<unknown, ValidateFunction>()

  constructor(private readonly components: JsonObject) {
    addFormats(this.ajv)
  }

  /** Compiles on first use: the spec has ~2,300 schemas and a run touches a few dozen. */
  validator(schema: unknown): ValidateFunction {
    let validate = this.compiled.get(schema)
    if (!validate) {
      const refs = new Set<string>()
      const root = this.convert(schema, refs)
      // Ajv resolves $refs at compile time, so every schema reachable from this one must be added first.
      for (const name of refs) {
        if (this.added.has(name)) continue
        this.added.add(name)
        const component = this.components[name]
        if (component === undefined) throw new Error(`spec: ${SCHEMA_REF}${name} is referenced but not defined`)
        this.ajv.addSchema(this.convert(component, refs) as JsonObject, schemaId(name))
      }
      validate = this.ajv.compile(root as JsonObject)
      this.compiled.set(schema, validate)
    }
    return validate
  }

  /** Follows $refs to the schema they name; the unknown-field check reads the spec as written. */
  resolve(schema: unknown): JsonObject | undefined {
    let current = schema
    for (let depth = 0; depth < 32; depth++) {
      const ref = field(current, '$ref')
      if (typeof ref !== 'string') return isObject(current) ? current : undefined
      current = this.components[refName(ref)]
    }
    return undefined
  }

  // Walks by schema keyword, never blindly, because property names such as `example` or `format`
  // are data inside `properties`, not keywords to strip.
  private convert(node: unknown, refs: Set<string>): unknown {
    if (!isObject(node)) return node
    const out: JsonObject = {}
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-') || OPENAPI_ONLY.has(key)) continue
      if (key === '$ref' && typeof value === 'string') {
        const name = refName(value)
        refs.add(name)
        out.$ref = schemaId(name)
      } else if (key === 'properties' || key === 'patternProperties') {
        out[key] = isObject(value)
          ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, this.convert(sub, refs)]))
          : value
      } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf' || (key === 'items' && Array.isArray(value))) {
        out[key] = Array.isArray(value) ? value.map((sub) => this.convert(sub, refs)) : value
      } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
        out[key] = this.convert(value, refs)
      } else {
        out[key] = value
      }
    }
    // Formats Ajv has never heard of (Plaid uses e.g. `cognito_id`) are documentation, not rules;
    // registering them as always-valid keeps Ajv from warning or failing at compile time.
    if (typeof out.format === 'string' && !(out.format in this.ajv.formats)) this.ajv.addFormat(out.format, true)
    // OpenAPI 3.0 has boolean exclusiveMinimum/Maximum modifying minimum/maximum; draft-07 wants the bound itself.
    for (const [exclusive, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (typeof out[exclusive] !== 'boolean') continue
      if (out[exclusive] === true && typeof out[bound] === 'number') {
        out[exclusive] = out[bound]
        delete out[bound]
      } else {
        delete out[exclusive]
      }
    }
    return node.nullable === true ? allowNull(out) : out
  }
}

/** OpenAPI-only annotations that draft-07 does not define (`nullable` is rewritten by allowNull). */
const OPENAPI_ONLY = new Set(['nullable', 'example', 'deprecated', 'discriminator', 'externalDocs', 'xml'])

const refName = (ref: string): string => {
  if (!ref.startsWith(SCHEMA_REF)) throw new Error(`spec: unsupported $ref ${ref}`)
  return ref.slice(SCHEMA_REF.length)
}
// Ids only name schemas inside Ajv; nothing is ever fetched.
const schemaId = (name: string) => `plaid-spec:schemas/${name}`

/** OpenAPI 3.0 `nullable: true` means "or null"; draft-07 says that with a type list, enum entry or anyOf. */
function allowNull(schema: JsonObject): JsonObject {
  // A $ref or composition would reject null on its own, whatever sits beside it.
  if ('$ref' in schema || 'allOf' in schema || 'anyOf' in schema || 'oneOf' in schema) {
    return { anyOf: [schema, { type: 'null' }] }
  }
  const out = { ...schema }
  if (typeof out.type === 'string') out.type = [out.type, 'null']
  else if (Array.isArray(out.type) && !out.type.includes('null')) out.type = [...out.type, 'null']
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
  return out
}

/**
 * Every request field the schema does not list, as JSON pointers. Plaid rejects unknown fields,
 * so an extra or misspelled field is a real failure even though the schema would accept it.
 */
function unknownFields(schemas: SpecSchemas, value: unknown, schema: unknown, at: string, found: string[]): void {
  const resolved = schemas.resolve(schema)
  if (!resolved) return
  if (Array.isArray(value)) {
    const items = itemsOf(schemas, resolved)
    value.forEach((item, i) => {
      if (items) unknownFields(schemas, item, items, `${at}/${i}`, found)
    })
    return
  }
  if (!isObject(value)) return
  const known = knownProperties(schemas, resolved)
  if (!known) return
  for (const [key, item] of Object.entries(value)) {
    const property = known.get(key)
    if (property === undefined) found.push(`${at}/${key}`)
    else unknownFields(schemas, item, property, `${at}/${key}`, found)
  }
}

/** The properties a schema (with its allOf/anyOf/oneOf parts) lists, or undefined if it allows any key. */
function knownProperties(schemas: SpecSchemas, schema: JsonObject): Map<string, unknown> | undefined {
  const known = new Map<string, unknown>()
  let open = false
  const visit = (part: JsonObject | undefined, depth: number) => {
    if (!part || depth > 16) return
    const additional = part.additionalProperties
    if (additional !== undefined && additional !== false) open = true
    if (isObject(part.properties)) for (const [name, sub] of Object.entries(part.properties)) known.set(name, sub)
    for (const key of ['allOf', 'anyOf', 'oneOf']) {
      const list = part[key]
      if (Array.isArray(list)) for (const sub of list) visit(schemas.resolve(sub), depth + 1)
    }
  }
  visit(schema, 0)
  return open || known.size === 0 ? undefined : known
}

function itemsOf(schemas: SpecSchemas, schema: JsonObject): unknown {
  if (schema.items !== undefined) return schema.items
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[key]
    if (!Array.isArray(list)) continue
    for (const sub of list) {
      const items = schemas.resolve(sub)?.items
      if (items !== undefined) return items
    }
  }
  return undefined
}

function ajvMessages(errors: ErrorObject[] | null | undefined): string[] {
  // allErrors makes oneOf/anyOf repeat the same complaint per branch; one line each is enough.
  return [...new Set((errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`))]
}

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

function readExchanges(): { exchanges: Exchange[]; malformed: number[] } {
  const exchanges: Exchange[] = []
  const malformed: number[] = []
  readFileSync(EXCHANGES_FILE, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return
      let record: unknown
      try {
        record = JSON.parse(line)
      } catch {
        record = undefined
      }
      if (
        isObject(record) &&
        typeof record.path === 'string' &&
        typeof record.status === 'number' &&
        isObject(record.headers)
      ) {
        const headers = Object.fromEntries(
          Object.entries(record.headers).map(([name, value]) => [name.toLowerCase(), String(value)]),
        )
        exchanges.push({ ...record, path: record.path, status: record.status, headers } as Exchange)
      } else {
        malformed.push(i + 1)
      }
    })
  return { exchanges, malformed }
}

function jsonSchemaOf(container: unknown): unknown {
  return field(field(field(container, 'content'), 'application/json'), 'schema')
}

/** The parsed spec, as the checks need it. */
type Spec = { paths: JsonObject; schemas: SpecSchemas }

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
function judge({ paths, schemas }: Spec, exchange: Exchange): Judgement {
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
const SELF_CHECK: Array<{ name: string; exchange: Exchange; bad: boolean }> = [
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
function selfCheck(spec: Spec): string[] {
  return SELF_CHECK.filter(({ exchange, bad }) => judge(spec, exchange).violations.length > 0 !== bad).map(
    ({ name, bad }) => `${name}: ${bad ? 'not flagged' : 'flagged'}`,
  )
}

/**
 * The Plaid paths src/plaid/client.ts calls, so that one the list lacks is noticed (the list is
 * written out rather than only read from the client so that a refactor there cannot empty it).
 */
function clientPaths(): string[] {
  if (!existsSync(CLIENT_FILE)) return []
  return [...readFileSync(CLIENT_FILE, 'utf8').matchAll(/this\.request(?:<[^>]*>)?\(\s*'(\/[^']+)'/g)].map(
    (m) => m[1] ?? '',
  )
}

function main(): number {
  if (!existsSync(SPEC_FILE)) {
    const source = process.env.PLAID_OPENAPI_SPEC ? 'PLAID_OPENAPI_SPEC' : 'the default location'
    console.log(`contract check: Plaid's OpenAPI spec is not at ${SPEC_FILE} (${source})`)
    console.log(`  Point PLAID_OPENAPI_SPEC at Plaid's ${PLAID_VERSION}.yml (https://github.com/plaid/plaid-openapi),`)
    console.log(`  e.g. PLAID_OPENAPI_SPEC=/path/to/plaid-openapi/${PLAID_VERSION}.yml npm test`)
    if (process.env.CONTRACT_REQUIRED === '1') {
      console.log('contract check FAILED: CONTRACT_REQUIRED=1 and there is no spec to check against')
      writeResult(0, 1)
      return 1
    }
    console.log('contract check SKIPPED')
    writeResult(0, 0)
    return 0
  }

  const started = performance.now()
  const parsed: unknown = parse(readFileSync(SPEC_FILE, 'utf8'))
  const parsedMs = performance.now() - started
  const paths = field(parsed, 'paths')
  const components = field(field(parsed, 'components'), 'schemas')
  if (!isObject(paths) || !isObject(components)) throw new Error(`${SPEC_FILE} has no paths or components.schemas`)
  const spec: Spec = { paths, schemas: new SpecSchemas(components) }

  const wronglyJudged = selfCheck(spec)
  if (wronglyJudged.length > 0) {
    console.log(
      'contract check FAILED: the self-check judged synthetic exchanges wrongly, so no verdict can be trusted',
    )
    for (const line of wronglyJudged) console.log(`  self-check: ${line}`)
    writeResult(0, wronglyJudged.length)
    return 1
  }
  console.log(`contract self-check: ${plural(SELF_CHECK.length, 'synthetic exchange')} judged as expected`)

  const { exchanges, malformed } = existsSync(EXCHANGES_FILE) ? readExchanges() : { exchanges: [], malformed: [] }
  if (exchanges.length === 0 && malformed.length === 0) {
    console.log(`contract check FAILED: no exchanges recorded in ${EXCHANGES_FILE}; run vitest first`)
    writeResult(0, 1)
    return 1
  }

  const stats = new Map<string, PathStats>()
  const violations: Violation[] = []
  /** Paths with at least one 2xx answer validated against the spec. */
  const succeeded = new Set<string>()
  /** `path field` for each REQUIRED_REQUEST_FIELDS entry seen in a valid request that succeeded. */
  const carried = new Set<string>()
  let passed = 0
  for (const exchange of exchanges) {
    const counts = stats.get(exchange.path) ?? { requests: 0, responses: 0, injected: 0, malformedOnPurpose: 0 }
    stats.set(exchange.path, counts)
    const judgement = judge(spec, exchange)
    counts.requests++
    if (judgement.injected) counts.injected++
    if (judgement.responseChecked) counts.responses++
    if (judgement.malformedOnPurpose) counts.malformedOnPurpose++
    if (judgement.responseChecked && exchange.status >= 200 && exchange.status < 300) {
      succeeded.add(exchange.path)
      for (const name of REQUIRED_REQUEST_FIELDS[exchange.path] ?? []) {
        const value = field(exchange.request, name)
        if (judgement.violations.length === 0 && value !== undefined && value !== null) {
          carried.add(`${exchange.path} ${name}`)
        }
      }
    }
    violations.push(...judgement.violations)
    if (judgement.violations.length === 0) passed++
  }
  // A run that never reaches an endpoint proves nothing about it, and would pass all the same.
  const unlisted = [...new Set(clientPaths())].filter((path) => !REQUIRED_ENDPOINTS.includes(path))
  const unexercised = REQUIRED_ENDPOINTS.filter((path) => !succeeded.has(path))
  const uncarried = Object.entries(REQUIRED_REQUEST_FIELDS).flatMap(([path, names]) =>
    names.filter((name) => !carried.has(`${path} ${name}`)).map((name) => `${path} ${name}`),
  )
  const failed = exchanges.length - passed + malformed.length + unlisted.length + unexercised.length + uncarried.length
  const checkedMs = performance.now() - started - parsedMs

  const version = field(field(parsed, 'info'), 'version')
  console.log(`contract check against ${SPEC_FILE} (${typeof version === 'string' ? version : 'unknown version'})`)
  for (const [path, c] of [...stats].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = [
      plural(c.requests, 'request'),
      plural(c.responses, 'response'),
      c.injected > 0 && `${c.injected} injected faults skipped`,
      c.malformedOnPurpose > 0 && `${c.malformedOnPurpose} malformed on purpose`,
    ]
    console.log(`  ${path}: ${parts.filter(Boolean).join(', ')}`)
  }
  // The same mistake usually repeats in every exchange of a path: print it once with a count.
  const grouped = new Map<string, number>()
  for (const v of violations) {
    const key = `${v.path} ${v.side}: ${v.message}`
    grouped.set(key, (grouped.get(key) ?? 0) + 1)
  }
  const problems = violations.length + malformed.length + unlisted.length + unexercised.length + uncarried.length
  if (problems > 0) console.log('violations:')
  for (const [line, count] of grouped) console.log(`  ${line}${count > 1 ? ` (x${count})` : ''}`)
  for (const line of malformed) console.log(`  ${EXCHANGES_FILE}:${line} is not an exchange record`)
  for (const path of unexercised) console.log(`  ${path}: required, but no successful exchange was recorded`)
  for (const entry of uncarried) console.log(`  ${entry}: required, but no valid, successful request carried it`)
  for (const path of unlisted) console.log(`  ${path}: called by src/plaid/client.ts, but not in REQUIRED_ENDPOINTS`)
  console.log(`spec parsed in ${Math.round(parsedMs)} ms, exchanges checked in ${Math.round(checkedMs)} ms`)
  console.log(
    `contract: ${plural(exchanges.length, 'exchange')}, ${plural(stats.size, 'endpoint')}, ${plural(problems, 'violation')}`,
  )
  writeResult(passed, failed)
  return failed > 0 ? 1 : 0
}

try {
  process.exitCode = main()
} catch (error) {
  console.error('contract check FAILED:', error instanceof Error ? error.message : error)
  writeResult(0, 1)
  process.exitCode = 1
}
