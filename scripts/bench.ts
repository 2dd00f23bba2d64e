/**
 * `npm run bench`: measures, in one run, and prints as Markdown tables for the README:
 *
 * 1. Bundle size: `wrangler deploy --dry-run --minify --outdir <tmp>` builds exactly what a deploy
 *    would upload; we report index.js raw and gzip (level 9) in KiB, the unit wrangler prints,
 *    against a budget of 40 KiB gzip.
 * 2. Module start-up: the time Node takes to `import()` that bundle (and then to answer a first
 *    GET /healthz through its `fetch`), each in a fresh `node` process so nothing is cached.
 *    Node's V8 stands in for workerd's: it is a proxy for Cloudflare's start-up limit, not the
 *    number Cloudflare measures, but it moves when the bundle's top-level work moves.
 * 3. Latency and throughput under `wrangler dev` (local workerd, a throwaway D1 with the migrations
 *    applied, .dev.vars ignored) against the Plaid emulator in this process: per route, a
 *    warm-up and then BENCH_SECONDS (default 5) at BENCH_CONCURRENCY (default 16)
 *    requests in flight from Node's fetch. These include wrangler's local dev proxy and share two
 *    cores with the emulator and the load generator, so they compare runs on one machine; they
 *    are not production latencies.
 *
 * Exits non-zero when the bundle is over budget or any measured request failed. Every child
 * process (wrangler, workerd) is started in its own process group and killed with it.
 *
 * Env: BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_WARMUP_SECONDS (default 1), BENCH_STARTUP_RUNS
 * (default 20).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { sign } from 'hono/jwt'
import { startEmulatorServer } from '../emulator/server'
import { DEV_JWT_SECRET, EMULATOR_CLIENT_ID, EMULATOR_SECRET } from '../src/dev-defaults'

const GZIP_BUDGET_KIB = 40
const SECONDS = positiveNumber('BENCH_SECONDS', 5)
const CONCURRENCY = Math.floor(positiveNumber('BENCH_CONCURRENCY', 16))
const WARMUP_SECONDS = positiveNumber('BENCH_WARMUP_SECONDS', 1)
const STARTUP_RUNS = Math.floor(positiveNumber('BENCH_STARTUP_RUNS', 20))

// ---------------------------------------------------------------------------------------------
// Routes. Add a route by appending to ROUTES; a route whose requests need fresh state (a new
// public_token per exchange, say) builds each request in `setup`, which is not timed.

type Method = 'GET' | 'POST' | 'DELETE'
type BenchRequest = {
  method: Method
  path: string
  headers?: Record<string, string>
  /** A string is sent as is; anything else as JSON. */
  body?: unknown
}
type BenchContext = {
  /** The API under `wrangler dev`, e.g. http://127.0.0.1:41234 */
  apiUrl: string
  /** The Plaid emulator, for setups that need Plaid-side state (sandbox public tokens...). */
  emulatorUrl: string
  /** A valid dev bearer token for `bench-user`. */
  token: string
}
type Route = BenchRequest & {
  name: string
  expectStatus: number
  /** Builds each request (overriding the static fields above); runs before the timer starts. */
  setup?: (ctx: BenchContext) => BenchRequest | Promise<BenchRequest>
}

const ROUTES: Route[] = [
  // The floor: routing, CORS middleware and a JSON answer, no Plaid call.
  { name: 'GET /healthz', method: 'GET', path: '/healthz', expectStatus: 200 },
  {
    name: 'POST /api/v1/banking/link-token',
    method: 'POST',
    path: '/api/v1/banking/link-token',
    expectStatus: 200,
    setup: (ctx) => ({
      method: 'POST',
      path: '/api/v1/banking/link-token',
      headers: { Authorization: `Bearer ${ctx.token}` },
    }),
  },
]

// ---------------------------------------------------------------------------------------------
// Child processes. wrangler runs in its own process group, so one signal to the group reaches
// npx, wrangler and the workerd it spawns; killing npx alone would orphan workerd, still holding
// its port. The group's leader is a small supervisor that also kills the group if this process
// vanishes without cleaning up: tsx SIGKILLs us when we are slow to acknowledge a signal it
// relays (as under load), and no handler of ours runs then.

const SUPERVISOR = `
const { spawn } = require('node:child_process')
const [parent, command, ...args] = process.argv.slice(1)
const child = spawn(command, args, { stdio: 'inherit' })
child.on('error', (error) => { console.error(error.message); process.exit(127) })
child.on('exit', (code) => process.exit(code ?? 1))
setInterval(() => {
  try { process.kill(Number(parent), 0) } catch { process.kill(-process.pid, 'SIGKILL') }
}, 500)
`

/** Groups we started; kept after their leader exits, since members (workerd) may outlive it. */
const groups = new Set<ChildProcess>()

function spawnGroup(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(process.execPath, ['-e', SUPERVISOR, String(process.pid), command, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  })
  groups.add(child)
  return child
}

/** Signals the child's whole group; 0 only checks that some member is alive. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  if (child.pid === undefined) return false
  try {
    process.kill(-child.pid, signal)
    return true
  } catch {
    return false // ESRCH: the whole group is gone already
  }
}

/** SIGTERM to the group, then SIGKILL whatever of it is still alive after `graceMs`. */
async function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (!signalGroup(child, 'SIGTERM')) return
  const deadline = Date.now() + graceMs
  // Wait for the group, not just our child: workerd can outlive wrangler for a moment.
  while (Date.now() < deadline && signalGroup(child, 0)) await sleep(100)
  signalGroup(child, 'SIGKILL')
}

/** The bundle, wrangler's env file and its local storage; removed on the way out. */
const workdir = mkdtempSync(join(tmpdir(), 'bench-'))

/** Stops every group we started (gracefully first) and removes the temp dir; idempotent. */
async function cleanup(): Promise<void> {
  await Promise.all([...groups].map((child) => stopGroup(child)))
  rmSync(workdir, { recursive: true, force: true })
}

// Last resort if we exit without cleanup (a throw in a handler, process.exit elsewhere): 'exit'
// handlers must be synchronous, so no grace period here.
process.on('exit', () => {
  for (const child of groups) signalGroup(child, 'SIGKILL')
  rmSync(workdir, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping child processes`)
    void cleanup().finally(() => process.exit(130))
  })
}

/** Waits for a child to finish, capturing its output. */
function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

// ---------------------------------------------------------------------------------------------
// Helpers

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`)
  return value
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A port the OS says is free now. Another process could take it before we bind; unlikely. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
const table = (header: string[], rows: string[][]) =>
  [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
const progress = (message: string) => console.error(`[bench] ${message}`)

// ---------------------------------------------------------------------------------------------
// 1. Bundle

type BundleResult = { path: string; rawKiB: number; gzipKiB: number; pass: boolean }

async function measureBundle(outdir: string): Promise<BundleResult> {
  progress('building the deployable bundle (wrangler deploy --dry-run --minify)')
  const result = await collect(
    spawnGroup('npx', ['wrangler', 'deploy', '--dry-run', '--minify', '--outdir', outdir], {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
    }),
  )
  if (result.code !== 0) {
    throw new Error(`wrangler deploy --dry-run failed (exit ${result.code}):\n${result.stdout}${result.stderr}`)
  }
  const path = join(outdir, 'index.js')
  const source = readFileSync(path)
  const rawKiB = source.length / 1024
  const gzipKiB = gzipSync(source, { level: 9 }).length / 1024
  return { path, rawKiB, gzipKiB, pass: gzipKiB <= GZIP_BUDGET_KIB }
}

// ---------------------------------------------------------------------------------------------
// 2. Start-up
//
// Fresh processes rather than cache-busting query strings in one process: a second import in the
// same isolate can reuse V8's compilation cache and already-warm dependencies of Node's loader,
// which would flatter later samples. The cost is ~50 ms of node boot per sample, not measured.

const STARTUP_PROBE = `
const url = process.argv[1]
// Node loads its fetch classes (undici) lazily on first use, ~30 ms that workerd never pays.
await new Response(new Request('http://bench.local/', { method: 'POST', body: 'x' }).body).text()
const t0 = performance.now()
const mod = await import(url)
const t1 = performance.now()
const ctx = { waitUntil() {}, passThroughOnException() {} }
const res = await mod.default.fetch(new Request('http://bench.local/healthz'), { LOCAL_DEV: 'true' }, ctx)
await res.text()
const t2 = performance.now()
if (res.status !== 200) throw new Error('healthz answered ' + res.status)
console.log(JSON.stringify({ importMs: t1 - t0, firstRequestMs: t2 - t0 }))
`

type StartupResult = { importMs: number[]; firstRequestMs: number[] }

async function measureStartup(bundlePath: string): Promise<StartupResult> {
  progress(`timing module start-up in ${STARTUP_RUNS} fresh node processes`)
  // Without any loader NODE_OPTIONS may name and without Node's on-disk compile cache, so each
  // sample is a cold parse and evaluation of the plain JS bundle.
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_COMPILE_CACHE
  const importMs: number[] = []
  const firstRequestMs: number[] = []
  // One at a time: parallel samples would compete for the two cores and measure contention.
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const args = ['--input-type=module', '-e', STARTUP_PROBE, pathToFileURL(bundlePath).href]
    // A plain child, not a supervised group: it spawns nothing and exits on its own in ms.
    const result = await collect(spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }))
    if (result.code !== 0) throw new Error(`start-up probe failed (exit ${result.code}):\n${result.stderr}`)
    const sample = JSON.parse(result.stdout.trim()) as { importMs: number; firstRequestMs: number }
    importMs.push(sample.importMs)
    firstRequestMs.push(sample.firstRequestMs)
  }
  return { importMs, firstRequestMs }
}

// ---------------------------------------------------------------------------------------------
// 3. The stack: emulator in this process, the API under `wrangler dev`

type Stack = { apiUrl: string; emulatorUrl: string; wrangler: ChildProcess }

async function startStack(workdir: string): Promise<Stack> {
  const [emulatorPort, apiPort, inspectorPort] = [await freePort(), await freePort(), await freePort()]
  // The emulator announces itself with console.log; send that to stderr so stdout stays the report.
  const log = console.log
  console.log = (...args: unknown[]) => console.error(...args)
  try {
    await startEmulatorServer(emulatorPort)
  } finally {
    console.log = log
  }
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`

  // An empty --env-file makes wrangler skip .dev.vars, so a developer's real Plaid credentials or
  // JWT settings cannot leak into (or change) the benchmark. An explicit PLAID_BASE_URL turns
  // off the LOCAL_DEV emulator defaults, hence the emulator credentials passed alongside.
  const envFile = join(workdir, 'bench.env')
  writeFileSync(envFile, '')
  const persistTo = join(workdir, 'state')

  // A fresh local D1 gets the schema first, as `npm run dev` does, for routes that store Items.
  if (existsSync('migrations')) {
    progress('applying D1 migrations to a fresh local database')
    const migrate = await collect(
      spawnGroup('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistTo], {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        CI: 'true', // no confirmation prompt
      }),
    )
    if (migrate.code !== 0) {
      throw new Error(`wrangler d1 migrations apply failed (exit ${migrate.code}):\n${migrate.stdout}${migrate.stderr}`)
    }
  }
  const args = [
    'wrangler',
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(apiPort),
    // Fixed and free, so a developer's own `wrangler dev` on 9229 does not collide with ours.
    '--inspector-port',
    String(inspectorPort),
    '--env-file',
    envFile,
    // Local storage (D1...) in the temp dir: benchmark load never touches `npm run dev`'s state.
    '--persist-to',
    persistTo,
    '--show-interactive-dev-session=false',
    '--var',
    'LOCAL_DEV:true',
    '--var',
    `PLAID_BASE_URL:${emulatorUrl}`,
    '--var',
    `PLAID_CLIENT_ID:${EMULATOR_CLIENT_ID}`,
    '--var',
    `PLAID_SECRET:${EMULATOR_SECRET}`,
  ]
  progress(`starting wrangler dev on :${apiPort} (emulator on :${emulatorPort})`)
  const wrangler = spawnGroup('npx', args, { ...process.env, WRANGLER_SEND_METRICS: 'false' })
  // Keep the tail of its output to explain a failed start; also drains the pipes so it never blocks.
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000)
  }
  wrangler.stdout?.on('data', keep)
  wrangler.stderr?.on('data', keep)
  let exited: number | null | undefined
  wrangler.on('exit', (code) => {
    exited = code
  })

  const apiUrl = `http://127.0.0.1:${apiPort}`
  const deadline = Date.now() + 60_000
  while (true) {
    if (exited !== undefined) throw new Error(`wrangler dev exited (code ${exited}) before it was ready:\n${output}`)
    if (Date.now() > deadline) throw new Error(`wrangler dev did not answer /healthz within 60 s:\n${output}`)
    try {
      const res = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    await sleep(250)
  }
  return { apiUrl, emulatorUrl, wrangler }
}

// ---------------------------------------------------------------------------------------------
// Load

type LoadResult = {
  requests: number
  errors: number
  /** Latencies of the requests that got the expected status, ascending. */
  latenciesMs: number[]
  seconds: number
  firstError?: string
}

function toInit(request: BenchRequest): RequestInit {
  const headers: Record<string, string> = { ...request.headers }
  let body: string | undefined
  if (typeof request.body === 'string') body = request.body
  else if (request.body !== undefined) {
    body = JSON.stringify(request.body)
    headers['Content-Type'] ??= 'application/json'
  }
  return { method: request.method, headers, body }
}

/** CONCURRENCY async workers, each sending one request after another until `seconds` pass. */
async function load(route: Route, ctx: BenchContext, seconds: number): Promise<LoadResult> {
  const latenciesMs: number[] = []
  let requests = 0
  let errors = 0
  let firstError: string | undefined
  const started = performance.now()
  const end = started + seconds * 1000

  const worker = async () => {
    while (performance.now() < end) {
      const request = route.setup ? await route.setup(ctx) : route
      const init = toInit(request)
      const t0 = performance.now()
      let problem: string | undefined
      try {
        const res = await fetch(`${ctx.apiUrl}${request.path}`, init)
        // Read the whole body: the request is not done until it arrives, and an unread body
        // keeps the connection from being reused.
        const text = await res.text()
        if (res.status !== route.expectStatus) problem = `status ${res.status}: ${text.slice(0, 200)}`
      } catch (error) {
        problem = (error as Error).message
      }
      const elapsed = performance.now() - t0
      requests++
      // Failures are counted, not timed: a fast 500 would make the percentiles look better.
      if (problem === undefined) latenciesMs.push(elapsed)
      else {
        errors++
        firstError ??= problem
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const elapsedSeconds = (performance.now() - started) / 1000
  latenciesMs.sort((a, b) => a - b)
  return { requests, errors, latenciesMs, seconds: elapsedSeconds, firstError }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const startedAt = performance.now()
  try {
    const bundle = await measureBundle(workdir)
    const startup = await measureStartup(bundle.path)

    const stack = await startStack(workdir)
    const now = Math.floor(Date.now() / 1000)
    const ctx: BenchContext = {
      apiUrl: stack.apiUrl,
      emulatorUrl: stack.emulatorUrl,
      // Signed with the dev secret that LOCAL_DEV=true accepts; valid well beyond any run.
      token: await sign({ sub: 'bench-user', iat: now, exp: now + 3600 }, DEV_JWT_SECRET, 'HS256'),
    }
    const results: { route: Route; result: LoadResult }[] = []
    for (const route of ROUTES) {
      // Warm-up: workerd compiles lazily and connections (ours and workerd's to the emulator)
      // open on first use; none of that belongs in the steady-state numbers.
      progress(`${route.name}: warm-up ${WARMUP_SECONDS} s`)
      await load(route, ctx, WARMUP_SECONDS)
      progress(`${route.name}: ${SECONDS} s at concurrency ${CONCURRENCY}`)
      results.push({ route, result: await load(route, ctx, SECONDS) })
    }
    await stopGroup(stack.wrangler)

    // Report
    const cpu = cpus()
    const lines = [
      '## Benchmark',
      '',
      `Node ${process.version} · ${cpu[0]?.model.trim() ?? 'unknown CPU'} · ${cpu.length} cores · ${new Date().toISOString()}`,
      '',
      '### Bundle (`wrangler deploy --dry-run --minify`)',
      '',
      table(
        ['Module', 'Raw KiB', 'Gzip KiB (level 9)', 'Budget', 'Result'],
        [
          [
            'index.js',
            fmt(bundle.rawKiB, 2),
            fmt(bundle.gzipKiB, 2),
            `${GZIP_BUDGET_KIB} KiB gzip`,
            bundle.pass ? 'PASS' : 'FAIL',
          ],
        ],
      ),
      '',
      `### Module start-up (Node, ${STARTUP_RUNS} fresh processes)`,
      '',
      table(
        ['Measure', 'Median ms', 'p90 ms'],
        [startup.importMs, startup.firstRequestMs].map((samples, i) => {
          const sorted = [...samples].sort((a, b) => a - b)
          const label = i === 0 ? '`import()` of the bundle' : 'import + first GET /healthz'
          return [label, fmt(percentile(sorted, 50), 2), fmt(percentile(sorted, 90), 2)]
        }),
      ),
      '',
      `### Latency and throughput (\`wrangler dev\` + emulator, concurrency ${CONCURRENCY}, ${SECONDS} s per route after ${WARMUP_SECONDS} s warm-up)`,
      '',
      table(
        ['Route', 'Requests', 'Errors', 'p50 ms', 'p99 ms', 'Req/s'],
        results.map(({ route, result }) => [
          route.name,
          String(result.requests),
          String(result.errors),
          fmt(percentile(result.latenciesMs, 50), 2),
          fmt(percentile(result.latenciesMs, 99), 2),
          fmt(result.requests / result.seconds, 0),
        ]),
      ),
      '',
      `_Total bench time: ${fmt((performance.now() - startedAt) / 1000, 1)} s_`,
    ]
    console.log(lines.join('\n'))

    let failed = false
    if (!bundle.pass) {
      console.error(`FAIL: bundle is ${fmt(bundle.gzipKiB, 2)} KiB gzip, over the ${GZIP_BUDGET_KIB} KiB budget`)
      failed = true
    }
    for (const { route, result } of results) {
      if (result.errors > 0) {
        console.error(`FAIL: ${route.name}: ${result.errors} errors; first: ${result.firstError}`)
        failed = true
      }
    }
    return failed ? 1 : 0
  } finally {
    await cleanup()
  }
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    await cleanup()
    process.exit(1)
  },
)
