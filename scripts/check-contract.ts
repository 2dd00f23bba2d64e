/**
 * Contract check (`npm test` runs it after vitest): every exchange between the Worker and the Plaid
 * emulator recorded during the tests (.contract/exchanges.jsonl) is checked against Plaid's own
 * OpenAPI spec. What it checks, what fails a run, and its settings: docs/contract-check.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import type { Exchange } from '../emulator/emulator'
import { PLAID_VERSION } from '../src/plaid/version'
import { judge, SELF_CHECK, type Spec, selfCheck, type Violation } from './contract/judge'
import { field, isObject, SpecSchemas } from './contract/spec'

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
type PathStats = { requests: number; responses: number; injected: number; malformedOnPurpose: number }
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function writeResult(passed: number, failed: number): void {
  mkdirSync(dirname(RESULT_FILE), { recursive: true })
  writeFileSync(RESULT_FILE, `${JSON.stringify({ passed, failed })}\n`)
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
