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
type PathStats = { requests: number; responses: number; injected: number }

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

  const { exchanges, malformed } = existsSync(EXCHANGES_FILE) ? readExchanges() : { exchanges: [], malformed: [] }
  if (exchanges.length === 0 && malformed.length === 0) {
    console.log(`contract check FAILED: no exchanges recorded in ${EXCHANGES_FILE}; run vitest first`)
    writeResult(0, 1)
    return 1
  }

  const started = performance.now()
  const spec: unknown = parse(readFileSync(SPEC_FILE, 'utf8'))
  const parsedMs = performance.now() - started
  const paths = field(spec, 'paths')
  const components = field(field(spec, 'components'), 'schemas')
  if (!isObject(paths) || !isObject(components)) throw new Error(`${SPEC_FILE} has no paths or components.schemas`)
  const schemas = new SpecSchemas(components)

  const stats = new Map<string, PathStats>()
  const violations: Violation[] = []
  let passed = 0
  for (const exchange of exchanges) {
    const { path } = exchange
    const counts = stats.get(path) ?? { requests: 0, responses: 0, injected: 0 }
    stats.set(path, counts)
    const found: Violation[] = []
    const flag = (side: Side, message: string) => found.push({ path, side, message })
    const operation = field(paths[path], 'post')

    for (const problem of headerProblems(exchange.headers)) flag('request', problem)
    counts.requests++
    if (!isObject(operation)) {
      flag('request', 'POST to a path the spec does not define')
    } else {
      const requestSchema = jsonSchemaOf(field(operation, 'requestBody'))
      if (exchange.request === undefined) flag('request', 'body is missing or not JSON')
      else if (requestSchema === undefined) flag('request', 'the spec defines no JSON request body for this path')
      else {
        const validate = schemas.validator(requestSchema)
        if (!validate(exchange.request)) for (const m of ajvMessages(validate.errors)) flag('request', m)
        const unknown: string[] = []
        unknownFields(schemas, exchange.request, requestSchema, '', unknown)
        for (const pointer of unknown) flag('request', `${pointer} is not a field the spec defines (UNKNOWN_FIELDS)`)
      }

      if (exchange.injected !== undefined) {
        // Faults asked for through the emulator's control API (HTML error pages, garbage, answers
        // missing fields) exercise the Worker's error handling, not Plaid's contract.
        counts.injected++
      } else if (typeof exchange.response === 'string') {
        flag('response', 'answer is not JSON')
      } else {
        const responses = field(operation, 'responses')
        const ok = exchange.status >= 200 && exchange.status < 300
        const code = String(exchange.status)
        const documented = field(responses, code) ?? field(responses, ok ? '200' : 'default')
        // Some paths (46 in spec 1.697.4: Beacon, Watchlist Screening, ...) document no `default`
        // answer, but Plaid's errors are PlaidError objects on every path.
        const responseSchema = jsonSchemaOf(documented) ?? (ok ? undefined : PLAID_ERROR)
        if (responseSchema === undefined) {
          flag('response', `the spec documents no JSON answer for status ${code}`)
        } else {
          const validate = schemas.validator(responseSchema)
          counts.responses++
          if (!validate(exchange.response)) for (const m of ajvMessages(validate.errors)) flag('response', m)
        }
      }
    }
    violations.push(...found)
    if (found.length === 0) passed++
  }
  const failed = exchanges.length - passed + malformed.length
  const checkedMs = performance.now() - started - parsedMs

  const version = field(field(spec, 'info'), 'version')
  console.log(`contract check against ${SPEC_FILE} (${typeof version === 'string' ? version : 'unknown version'})`)
  for (const [path, c] of [...stats].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = [
      plural(c.requests, 'request'),
      plural(c.responses, 'response'),
      c.injected > 0 && `${c.injected} injected faults skipped`,
    ]
    console.log(`  ${path}: ${parts.filter(Boolean).join(', ')}`)
  }
  // The same mistake usually repeats in every exchange of a path: print it once with a count.
  const grouped = new Map<string, number>()
  for (const v of violations) {
    const key = `${v.path} ${v.side}: ${v.message}`
    grouped.set(key, (grouped.get(key) ?? 0) + 1)
  }
  if (grouped.size > 0) console.log('violations:')
  for (const [line, count] of grouped) console.log(`  ${line}${count > 1 ? ` (x${count})` : ''}`)
  for (const line of malformed) console.log(`  ${EXCHANGES_FILE}:${line} is not an exchange record`)
  console.log(`spec parsed in ${Math.round(parsedMs)} ms, exchanges checked in ${Math.round(checkedMs)} ms`)
  console.log(
    `contract: ${plural(exchanges.length, 'exchange')}, ${plural(stats.size, 'endpoint')}, ${plural(violations.length + malformed.length, 'violation')}`,
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
