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
 *    Routes whose requests need fresh state (a new user and Sandbox public token per exchange, a
 *    signed webhook) get a pool of requests built just before the timed window, so neither the
 *    latency nor the throughput includes that setup.
 * 4. Transactions sync: one Item gets SYNC_TRANSACTIONS transactions added at the emulator; we time
 *    POST /items/:id/sync end to end, then the same sync again (nothing new: the no-op cost),
 *    and page through GET /transactions?item_id=...&limit=500 counting every transaction. During
 *    the first sync the RSS (/proc/<pid>/status VmRSS) of the workerd that runs the Worker is
 *    sampled every 20 ms; that of the workerd serving wrangler's dev proxy is reported apart.
 * 5. Webhook verification: POST /webhooks with webhooks signed by the emulator for the client id
 *    the Worker uses (ES256 verification, body hash, queue send), and with forged ones (a body
 *    changed after signing), which must answer 401.
 *
 * Exits non-zero when the bundle is over budget, any measured request failed or the sync check
 * failed. Every child process (wrangler, workerd) is started in its own process group and killed
 * with it.
 *
 * Env: BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_WARMUP_SECONDS (default 1), BENCH_STARTUP_RUNS
 * (default 20), BENCH_SYNC_TRANSACTIONS (default 10000).
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import {
  cleanup,
  collect,
  devToken,
  emulatorControlOk,
  fmt,
  percentile,
  plaidCall,
  positiveNumber,
  type Stack,
  sleep,
  spawnGroup,
  startStack,
  stopGroup,
  table,
  tempDir,
  wranglerEnv,
} from './stack'
import { sqliteQuery, userObjectFiles } from './user-objects'

const GZIP_BUDGET_KIB = 40
const SECONDS = positiveNumber('BENCH_SECONDS', 5)
const CONCURRENCY = Math.floor(positiveNumber('BENCH_CONCURRENCY', 16))
const WARMUP_SECONDS = positiveNumber('BENCH_WARMUP_SECONDS', 1)
const STARTUP_RUNS = Math.floor(positiveNumber('BENCH_STARTUP_RUNS', 20))
const SYNC_TRANSACTIONS = Math.floor(positiveNumber('BENCH_SYNC_TRANSACTIONS', 10_000))
/** The Sandbox bank every bench Item is linked at (each user links it once). */
const INSTITUTION_ID = 'ins_109508'
/** Most requests built ahead of one timed window; past it, workers build them inline (and we say so). */
const MAX_POOL = 10_000
/** How many times the warm-up's estimate of a window's requests to build ahead (it runs cold, so it is low). */
const POOL_MARGIN = 2.5

// ---------------------------------------------------------------------------------------------
// Routes. Add a route by appending to ROUTES; a route whose requests need fresh state (a new
// public_token per exchange, say) builds each request in `setup`, which is not timed: before the
// timed window a pool of requests is built with it, sized from the warm-up. A route that needs
// state once (an Item to list) builds its one request in `once`, before the warm-up.

type Method = 'GET' | 'POST' | 'DELETE'
type BenchRequest = {
  method: Method
  path: string
  headers?: Record<string, string>
  /** A string is sent as is; anything else as JSON. */
  body?: unknown
}
/**
 * The API under `wrangler dev` (`apiUrl`), and the Plaid emulator (`emulatorUrl`) for setups that
 * need Plaid-side state (sandbox public tokens...), called with the client id the Worker under
 * test uses (`clientId`): the emulator keeps Items and webhook signing keys per client id.
 */
type BenchContext = Pick<Stack, 'apiUrl' | 'emulatorUrl' | 'clientId'>
type Route = BenchRequest & {
  name: string
  expectStatus: number
  /** Text the answer must contain, when the status alone would not show why it was given. */
  expectText?: string
  /** Builds the request every iteration sends (overriding the static fields); runs once, before the warm-up. */
  once?: (ctx: BenchContext) => Promise<BenchRequest>
  /** Builds each request (overriding the static fields above); runs before the timer starts. */
  setup?: (ctx: BenchContext) => BenchRequest | Promise<BenchRequest>
}

const LINK_TOKEN = '/api/v1/banking/link-token'
const EXCHANGE_TOKEN = '/api/v1/banking/exchange-token'
const ACCOUNTS = '/api/v1/banking/accounts'
const WEBHOOKS = '/api/v1/banking/webhooks'

const ROUTES: Route[] = [
  // The floor: routing, CORS middleware and a JSON answer, no Plaid call.
  { name: 'GET /healthz', method: 'GET', path: '/healthz', expectStatus: 200 },
  {
    name: 'POST /api/v1/banking/link-token',
    method: 'POST',
    path: LINK_TOKEN,
    expectStatus: 200,
    // A user per request: the API allows each user 30 requests that reach Plaid per minute.
    setup: async () => ({ method: 'POST', path: LINK_TOKEN, headers: bearer(await newUser('link')) }),
  },
  {
    name: 'POST /api/v1/banking/exchange-token',
    method: 'POST',
    path: EXCHANGE_TOKEN,
    expectStatus: 201,
    // A user and a Sandbox public token per request: besides the rate limit, a user may link an
    // institution only once.
    setup: async (ctx) => {
      const [user, publicToken] = await Promise.all([newUser('exchange'), sandboxPublicToken(ctx)])
      return { method: 'POST', path: EXCHANGE_TOKEN, headers: bearer(user), body: { public_token: publicToken } }
    },
  },
  {
    name: 'GET /api/v1/banking/accounts',
    method: 'GET',
    path: ACCOUNTS,
    expectStatus: 200,
    // One user with one linked Item; listing reads D1 only (no refresh), so no rate limit applies.
    once: async (ctx) => {
      const user = await newUser('accounts')
      await linkItem(ctx, user)
      return { method: 'GET', path: ACCOUNTS, headers: bearer(user) }
    },
  },
]

/** Measured after the sync, so the queue work they cause does not overlap it. */
const WEBHOOK_ROUTES: Route[] = [
  {
    name: 'POST /api/v1/banking/webhooks (valid signature)',
    method: 'POST',
    path: WEBHOOKS,
    expectStatus: 200,
    setup: (ctx) => signedWebhook(ctx, false),
  },
  {
    name: 'POST /api/v1/banking/webhooks (forged: body changed after signing)',
    method: 'POST',
    path: WEBHOOKS,
    expectStatus: 401,
    // The signature verifies; the body hash in the token is what catches the change (the one
    // 401 body says only that verification failed; the reason is in the Worker's log line).
    expectText: 'Failed to verify webhook: invalid Plaid-Verification',
    setup: (ctx) => signedWebhook(ctx, true),
  },
]

// ---------------------------------------------------------------------------------------------
// Users, Items and webhooks for the setups

type User = { id: string; token: string }

const runId = Date.now().toString(36)
let userCount = 0

/** A new user (a `sub` no other request of this run uses) with a dev bearer token valid for an hour. */
async function newUser(label: string): Promise<User> {
  const id = `bench-${label}-${runId}-${++userCount}`
  return { id, token: await devToken(id, 3600) }
}

const bearer = (user: User) => ({ Authorization: `Bearer ${user.token}` })

/** What Link's onSuccess would give the frontend, from the emulated Sandbox. */
async function sandboxPublicToken(ctx: BenchContext, institutionId = INSTITUTION_ID): Promise<string> {
  const data = await plaidCall(ctx, '/sandbox/public_token/create', {
    institution_id: institutionId,
    initial_products: ['transactions', 'auth'],
  })
  if (typeof data.public_token !== 'string') throw new Error('emulator gave no public_token')
  return data.public_token
}

type ApiAnswer = { status: number; text: string; json: Record<string, unknown> }

async function callApi(ctx: BenchContext, request: BenchRequest): Promise<ApiAnswer> {
  const res = await fetch(`${ctx.apiUrl}${request.path}`, toInit(request))
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: res.status, text, json }
}

/** Links an Item for the user through the API (Sandbox public token, then exchange); its item_id. */
async function linkItem(ctx: BenchContext, user: User, institutionId = INSTITUTION_ID): Promise<string> {
  const answer = await callApi(ctx, {
    method: 'POST',
    path: EXCHANGE_TOKEN,
    headers: bearer(user),
    body: { public_token: await sandboxPublicToken(ctx, institutionId) },
  })
  const itemId = (answer.json.item as { item_id?: unknown } | undefined)?.item_id
  if (answer.status !== 201 || typeof itemId !== 'string') {
    throw new Error(`linking an Item answered ${answer.status}: ${answer.text.slice(0, 300)}`)
  }
  return itemId
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** An id shaped like Plaid's item_id that no Item has: the queue consumer just acknowledges it. */
const randomItemId = () => Array.from(crypto.getRandomValues(new Uint8Array(37)), (b) => BASE62[b % 62]).join('')

/**
 * A webhook signed by the emulator with the key of the Worker's client id (iat now, so it is
 * valid for 5 minutes). `forged` changes the body after signing: the signature still verifies,
 * the body hash does not match, and the API must answer 401.
 */
async function signedWebhook(ctx: BenchContext, forged: boolean): Promise<BenchRequest> {
  const webhook = (itemId: string) =>
    JSON.stringify({
      webhook_type: 'ITEM',
      webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED',
      item_id: itemId,
      error: null,
      new_webhook_url: `https://bench.example${WEBHOOKS}`,
      environment: 'sandbox',
    })
  const body = webhook(randomItemId())
  const { verification } = await emulatorControlOk<{ verification?: unknown }>(ctx, 'POST', '/webhooks/sign', { body })
  if (typeof verification !== 'string') throw new Error('emulator gave no verification header')
  return {
    method: 'POST',
    path: WEBHOOKS,
    headers: { 'Content-Type': 'application/json', 'Plaid-Verification': verification },
    body: forged ? webhook(randomItemId()) : body,
  }
}

/** The bundle, wrangler's env file and its local storage; removed on the way out. */
const workdir = tempDir('bench-')

const progress = (message: string) => console.error(`[bench] ${message}`)

// ---------------------------------------------------------------------------------------------
// 1. Bundle

type BundleResult = { path: string; rawKiB: number; gzipKiB: number; pass: boolean }

async function measureBundle(outdir: string): Promise<BundleResult> {
  progress('building the deployable bundle (wrangler deploy --dry-run --minify)')
  const result = await collect(
    spawnGroup('npx', ['wrangler', 'deploy', '--dry-run', '--minify', '--outdir', outdir], wranglerEnv()),
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
  // Node has no cloudflare:workers module; the bundle takes only the DurableObject base class from
  // it, which a one-line data: module stands in for (a copy of the bundle, the measured one stays).
  const probePath = join(dirname(bundlePath), 'startup-probe.js')
  writeFileSync(
    probePath,
    readFileSync(bundlePath, 'utf8').replaceAll(
      '"cloudflare:workers"',
      '"data:text/javascript,export class DurableObject{}"',
    ),
  )
  bundlePath = probePath
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
// 3. Load

type LoadResult = {
  requests: number
  errors: number
  /** Latencies of the requests that got the expected status, ascending. */
  latenciesMs: number[]
  seconds: number
  firstError?: string
  /** Requests built ahead of the window (0 for routes without setup). */
  pooled: number
  /** Requests the workers had to build inside the window because the pool ran out. */
  inlineSetups: number
  /** CPU time of the Worker's workerd per request in the timed window (ms; NaN if not measured). */
  cpuMsPerRequest: number
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

/**
 * CONCURRENCY async workers, each sending one request after another until `seconds` pass. With
 * a `pool`, workers take ready-made requests from it and call `setup` only when it is empty.
 */
async function load(
  route: Route,
  base: BenchRequest,
  ctx: BenchContext,
  seconds: number,
  pool?: BenchRequest[],
): Promise<LoadResult> {
  const latenciesMs: number[] = []
  let requests = 0
  let errors = 0
  let inlineSetups = 0
  let firstError: string | undefined
  const pooled = pool?.length ?? 0
  const started = performance.now()
  const end = started + seconds * 1000

  const worker = async () => {
    while (performance.now() < end) {
      let request = pool?.pop()
      if (request === undefined) {
        request = route.setup ? await route.setup(ctx) : base
        if (pool && route.setup) inlineSetups++
      }
      const init = toInit(request)
      const t0 = performance.now()
      let problem: string | undefined
      try {
        const res = await fetch(`${ctx.apiUrl}${request.path}`, init)
        // Read the whole body: the request is not done until it arrives, and an unread body
        // keeps the connection from being reused.
        const text = await res.text()
        if (res.status !== route.expectStatus || (route.expectText && !text.includes(route.expectText))) {
          problem = `status ${res.status}: ${text.slice(0, 200)}`
        }
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
  return {
    requests,
    errors,
    latenciesMs,
    seconds: elapsedSeconds,
    firstError,
    pooled,
    inlineSetups,
    cpuMsPerRequest: Number.NaN,
  }
}

/** `count` requests from the route's setup, CONCURRENCY at a time. */
async function buildPool(route: Route, ctx: BenchContext, count: number): Promise<BenchRequest[]> {
  const setup = route.setup
  if (!setup) return []
  const pool: BenchRequest[] = []
  let started = 0
  const worker = async () => {
    while (started < count) {
      started++
      pool.push(await setup(ctx))
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return pool
}

/**
 * Warm-up, then the timed window. For a route with `setup`, the warm-up's median latency says
 * how many requests CONCURRENCY workers can send in SECONDS (Little's law); 2.5 times that is
 * built beforehand (signed webhooks then carry an iat of just before the window).
 */
async function measureRoute(route: Route, ctx: BenchContext): Promise<LoadResult> {
  const base = route.once ? await route.once(ctx) : route
  // Warm-up: workerd compiles lazily and connections (ours and workerd's to the emulator)
  // open on first use; none of that belongs in the steady-state numbers.
  progress(`${route.name}: warm-up ${WARMUP_SECONDS} s`)
  const warm = await load(route, base, ctx, WARMUP_SECONDS)
  let pool: BenchRequest[] | undefined
  if (route.setup) {
    const p50 = percentile(warm.latenciesMs, 50)
    const rate = Number.isFinite(p50) && p50 > 0 ? CONCURRENCY / (p50 / 1000) : warm.requests / warm.seconds
    const size = Math.min(MAX_POOL, Math.ceil(rate * SECONDS * POOL_MARGIN) + CONCURRENCY)
    progress(`${route.name}: building ${size} requests ahead of the timed window`)
    pool = await buildPool(route, ctx, size)
  }
  progress(`${route.name}: ${SECONDS} s at concurrency ${CONCURRENCY}`)
  const cpuBefore = cpuMs(workerPids)
  const result = await load(route, base, ctx, SECONDS, pool)
  return { ...result, cpuMsPerRequest: (cpuMs(workerPids) - cpuBefore) / result.requests }
}

/** The Worker's workerd processes, once the stack runs (for the CPU column). */
let workerPids: number[] = []

/** User plus system CPU time of the processes so far, in ms (/proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pids: number[]): number {
  if (pids.length === 0) return Number.NaN
  return sum(
    pids.map((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const [utime, stime] = stat
          .slice(stat.lastIndexOf(')') + 2)
          .split(' ')
          .slice(11, 13)
          .map(Number)
        return ((utime ?? Number.NaN) + (stime ?? Number.NaN)) * 10
      } catch {
        return Number.NaN
      }
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// 4. Transactions sync, with workerd's memory

/**
 * The workerd processes in the process group of `leader` (wrangler's supervisor). wrangler starts
 * two: one runs the Worker with its D1 and queue, the only one started with an inspector
 * (`--inspector-addr`); the other serves wrangler's dev proxy on the API port. If that flag ever
 * goes, every workerd of the group counts as the Worker's.
 */
function workerdPids(leader: number): { worker: number[]; proxy: number[] } {
  const all: { pid: number; runsWorker: boolean }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const [, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (comm !== 'workerd' || Number(pgrp) !== leader) continue
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      all.push({ pid: Number(entry), runsWorker: args.some((a) => a.startsWith('--inspector-addr')) })
    } catch {
      // the process exited while we looked
    }
  }
  const found = all.some((p) => p.runsWorker)
  return {
    worker: all.filter((p) => !found || p.runsWorker).map((p) => p.pid),
    proxy: all.filter((p) => found && !p.runsWorker).map((p) => p.pid),
  }
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or NaN if the process is gone. */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : Number.NaN
  } catch {
    return Number.NaN
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/** Samples the summed VmRSS of `pids` every `intervalMs` until stopped; the peak includes both ends. */
function sampleRss(pids: number[], intervalMs = 20) {
  let peakKiB = 0
  let samples = 0
  const take = () => {
    const total = sum(pids.map((pid) => statusKiB(pid, 'VmRSS')))
    if (Number.isFinite(total)) peakKiB = Math.max(peakKiB, total)
    samples++
  }
  take()
  const timer = setInterval(take, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return { peakKiB, samples }
    },
  }
}

/**
 * Resets the kernel's peak-RSS counter (VmHWM) of `pid` (`echo 5 > /proc/<pid>/clear_refs`), so
 * VmHWM afterwards is the true peak, spikes between our samples included. False if not allowed.
 */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

type Timed = { ms: number; answer: ApiAnswer }
type RssSeries = { pids: number[]; baselineKiB: number; peakKiB: number; hwmKiB: number; samples: number }

/** Starts watching the summed RSS of `pids`: the baseline now, then samples until `stop()`. */
function watchRss(pids: number[]) {
  const hwmReset = pids.every(resetPeakRss)
  const baselineKiB = sum(pids.map((pid) => statusKiB(pid, 'VmRSS')))
  const sampler = sampleRss(pids)
  return {
    stop(): RssSeries {
      const { peakKiB, samples } = sampler.stop()
      const hwmKiB = hwmReset ? sum(pids.map((pid) => statusKiB(pid, 'VmHWM'))) : Number.NaN
      return { pids, baselineKiB, peakKiB, hwmKiB, samples }
    },
  }
}

async function timed(ctx: BenchContext, request: BenchRequest): Promise<Timed> {
  const t0 = performance.now()
  const answer = await callApi(ctx, request)
  return { ms: performance.now() - t0, answer }
}

type SyncBench = {
  userId: string
  /** Transactions Plaid (the emulator) holds for the Item when the sync starts. */
  live: number
  first: Timed
  noop: Timed
  listing: { ms: number; pages: number; count: number; unique: number; foreign: number }
  /** The Worker's workerd, and wrangler's dev proxy (absent if it could not be told apart). */
  rss: { worker: RssSeries; proxy?: RssSeries }
  cpu: SyncCpu
  problems: string[]
}

/**
 * The CPU time of the workerd that runs the Worker and its objects (one process under `wrangler
 * dev`), over the first sync and over its apply. The apply's window runs from the Worker's log
 * line `sync applying its staged changes in parts` (written once the first part is applied) to
 * its line `sync applied in parts` (which counts the parts), so it holds the object calls of every
 * part but the first, and the Worker's small share of making them.
 */
type SyncCpu = { totalMs: number; applyMs: number; applyCalls: number; pageCalls: number }

/** Where the Worker's apply log lines go while a sync is measured. */
let onApplyLine: ((message: string, fields: Record<string, unknown>) => void) | undefined

/** `wrangler dev`'s output, line by line: the Worker's JSON log lines about a sync's apply. */
function onWranglerLine(line: string): void {
  const start = line.indexOf('{"level"')
  if (start === -1 || !onApplyLine || !line.includes('sync appl')) return
  try {
    const entry = JSON.parse(line.slice(start)) as Record<string, unknown>
    onApplyLine(String(entry.message), entry)
  } catch {
    // not one of ours
  }
}

/**
 * Waits until the first sync that the exchange queued has stored the Item's history (what Plaid
 * holds for it now), so a measured sync does not race it.
 */
async function waitForFirstSync(ctx: BenchContext, user: User, itemId: string): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const live = await emulatorControlOk<{ transactions: unknown[] }>(ctx, 'GET', `/items/${itemId}/transactions`)
    const listed = await callApi(ctx, {
      method: 'GET',
      path: `/api/v1/banking/transactions?item_id=${itemId}&limit=500`,
      headers: bearer(user),
    })
    const count = (listed.json.transactions as unknown[] | undefined)?.length ?? 0
    if (listed.status === 200 && count === live.transactions.length) return
    if (Date.now() > deadline) throw new Error(`the first sync of ${itemId} did not finish within 60 s`)
    await sleep(100)
  }
}

async function measureSync(
  ctx: BenchContext,
  wranglerLeader: number,
  transactions = SYNC_TRANSACTIONS,
): Promise<SyncBench> {
  progress(`transactions sync: linking an Item and adding ${transactions} transactions at the emulator`)
  const user = await newUser('sync')
  const itemId = await linkItem(ctx, user)
  await waitForFirstSync(ctx, user, itemId)
  // The emulator adds at most 100,000 a call.
  let added: { transactions?: unknown } = {}
  for (let left = transactions; left > 0; left -= 100_000) {
    added = await emulatorControlOk(ctx, 'POST', `/items/${itemId}/transactions`, { add: Math.min(left, 100_000) })
  }
  const live = Number(added.transactions)
  const sync: BenchRequest = { method: 'POST', path: `/api/v1/banking/items/${itemId}/sync`, headers: bearer(user) }

  const pids = workerdPids(wranglerLeader)
  if (pids.worker.length === 0) throw new Error(`no workerd process in wrangler's process group ${wranglerLeader}`)
  // Let the exchange's after-effects settle so the baseline is a resting one.
  await sleep(500)
  progress(`transactions sync: POST ${sync.path} (${live} transactions; workerd pid ${pids.worker.join(', ')})`)
  const workerRss = watchRss(pids.worker)
  const proxyRss = pids.proxy.length > 0 ? watchRss(pids.proxy) : undefined
  const apply = { startMs: Number.NaN, endMs: Number.NaN, parts: 0 }
  onApplyLine = (message, fields) => {
    if (message === 'sync applying its staged changes in parts') apply.startMs = cpuMs(pids.worker)
    if (message === 'sync applied in parts') {
      apply.endMs = cpuMs(pids.worker)
      apply.parts = Number(fields.parts)
    }
  }
  const cpuBefore = cpuMs(pids.worker)
  const first = await timed(ctx, sync)
  // The last log line may come a moment after the answer.
  for (let wait = 0; apply.startMs >= 0 && Number.isNaN(apply.endMs) && wait < 20; wait++) await sleep(50)
  onApplyLine = undefined
  const cpu: SyncCpu = {
    totalMs: cpuMs(pids.worker) - cpuBefore,
    applyMs: apply.endMs - apply.startMs,
    // The first part is applied by the call that begins the apply, before the window opens.
    applyCalls: apply.parts - 1,
    pageCalls: Math.ceil(transactions / 500),
  }
  const rss = { worker: workerRss.stop(), proxy: proxyRss?.stop() }

  progress('transactions sync: the same sync again (no changes)')
  const noop = await timed(ctx, sync)

  progress('transactions sync: listing every transaction, 500 a page')
  const ids = new Set<string>()
  let count = 0
  let foreign = 0
  let pages = 0
  let cursor: string | null = null
  const t0 = performance.now()
  const problems: string[] = []
  do {
    const params = new URLSearchParams({ item_id: itemId, limit: '500' })
    if (cursor) params.set('cursor', cursor)
    const page = await callApi(ctx, {
      method: 'GET',
      path: `/api/v1/banking/transactions?${params}`,
      headers: bearer(user),
    })
    pages++
    if (page.status !== 200) {
      problems.push(`listing page ${pages} answered ${page.status}: ${page.text.slice(0, 200)}`)
      break
    }
    const transactions = (page.json.transactions ?? []) as { transaction_id: string; item_id: string }[]
    for (const t of transactions) {
      count++
      ids.add(t.transaction_id)
      if (t.item_id !== itemId) foreign++
    }
    cursor = page.json.next_cursor as string | null
  } while (cursor)
  const listingMs = performance.now() - t0

  const result = (t: Timed) => t.answer.json as { added?: number; modified?: number; removed?: number }
  if (first.answer.status !== 200)
    problems.push(`sync answered ${first.answer.status}: ${first.answer.text.slice(0, 300)}`)
  else if (result(first).added !== transactions) {
    problems.push(`sync added ${result(first).added}, expected ${transactions}`)
  }
  if (noop.answer.status !== 200)
    problems.push(`no-op sync answered ${noop.answer.status}: ${noop.answer.text.slice(0, 300)}`)
  else if (result(noop).added !== 0 || result(noop).modified !== 0 || result(noop).removed !== 0) {
    problems.push(`no-op sync reported changes: ${noop.answer.text.slice(0, 200)}`)
  }
  if (count !== live || ids.size !== live) {
    problems.push(`listing returned ${count} transactions (${ids.size} distinct), the emulator holds ${live}`)
  }
  if (foreign > 0) problems.push(`listing with item_id returned ${foreign} transactions of other Items`)
  return {
    userId: user.id,
    live,
    first,
    noop,
    listing: { ms: listingMs, pages, count, unique: ids.size, foreign },
    rss,
    cpu,
    problems,
  }
}

// ---------------------------------------------------------------------------------------------
// 6. Scale: large first syncs, many users, and what they cost in storage

const SCALE = process.env.BENCH_SCALE !== '0'
const SCALE_SIZES = (process.env.BENCH_SCALE_SIZES ?? '10000,100000,200000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0)
/** 0 leaves out the simulated users (the large syncs alone). */
const SCALE_USERS = process.env.BENCH_SCALE_USERS === '0' ? 0 : Math.floor(positiveNumber('BENCH_SCALE_USERS', 1000))
/** A typical user for the projection: 2 Items, 24 months at about 150 transactions a month. */
const TYPICAL = { items: 2, transactions: 24 * 150 }
/** D1's size per database, which Cloudflare cannot raise, and the users one D1 held before the move. */
const D1_CAP_BYTES = 10 * 1024 ** 3
const D1_USERS_BEFORE = 5_000
/**
 * This bench's figures for the last build before the move to per-user objects (D1 for everything),
 * on this 2-core machine, so each run shows its own beside them.
 */
const BEFORE = {
  gzipKiB: 37.78,
  linkToken: { p50: 52.6, rps: 288, cpuMs: 1.11 },
  syncMiB: { 10000: 49.4, 100000: 567.2 } as Record<number, number>,
}

/** Transactions per Item of a simulated user: a typical history (0 keeps the Sandbox's default). */
const SCALE_HISTORY = Math.floor(Number(process.env.BENCH_SCALE_HISTORY ?? TYPICAL.transactions / TYPICAL.items))

/** Runs `work` over `list`, `concurrency` at a time. */
async function eachConcurrently<T>(list: T[], work: (entry: T) => Promise<void>, concurrency = CONCURRENCY) {
  let next = 0
  const worker = async () => {
    while (next < list.length) await work(list[next++] as T)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/**
 * Syncs of 1,800 transactions at once, 4 at a time: more only queue up behind each other in the
 * one local workerd. Under that load wrangler's dev proxy sometimes answers 503 "Your worker
 * restarted mid-request" without the Worker having seen the request; a sync is safe to repeat, so
 * that answer is sent again (at most twice) and counted in the report.
 */
const HISTORY_CONCURRENCY = 4
let devProxyResends = 0

async function syncWithResend(ctx: BenchContext, user: User, itemId: string): Promise<ApiAnswer> {
  const request: BenchRequest = { method: 'POST', path: `/api/v1/banking/items/${itemId}/sync`, headers: bearer(user) }
  for (let attempt = 0; ; attempt++) {
    const answer = await callApi(ctx, request)
    if (answer.status !== 503 || !answer.text.includes('restarted mid-request') || attempt === 2) return answer
    devProxyResends++
  }
}

/**
 * SCALE_USERS users link two Items each (two banks) through the API; once every Item's queued
 * first sync has run, each Item's history at the bank grows to SCALE_HISTORY transactions and the
 * user syncs it (POST /items/:item_id/sync), as a typical user's would have over two years.
 */
type Simulated = { users: User[]; items: string[]; seconds: number; transactions: number }

async function simulateUsers(ctx: BenchContext, count: number): Promise<Simulated> {
  progress(`scale: ${count} users link 2 Items each (concurrency ${CONCURRENCY})`)
  const t0 = performance.now()
  const users: User[] = []
  for (let i = 0; i < count; i++) users.push(await newUser('scale'))
  const linked: { user: User; itemId: string }[] = []
  await eachConcurrently(users, async (user) => {
    for (const bank of ['ins_109508', 'ins_109509']) linked.push({ user, itemId: await linkItem(ctx, user, bank) })
  })
  const wanted = new Set(linked.map((l) => l.itemId))
  const deadline = Date.now() + 180_000
  for (;;) {
    const { items: atPlaid } = await emulatorControlOk<{ items: { item_id: string; sync_called: boolean }[] }>(
      ctx,
      'GET',
      '/items',
    )
    const synced = atPlaid.filter((i) => wanted.has(i.item_id) && i.sync_called).length
    if (synced === wanted.size) break
    if (Date.now() > deadline) throw new Error(`only ${synced} of ${wanted.size} first syncs ran within 180 s`)
    await sleep(250)
  }
  let transactions = 0
  if (SCALE_HISTORY > 0) {
    progress(`scale: each of the ${linked.length} Items grows to ${SCALE_HISTORY} transactions and is synced`)
    await eachConcurrently(
      linked,
      async ({ user, itemId }) => {
        const { transactions: live } = await emulatorControlOk<{ transactions: unknown[] }>(
          ctx,
          'GET',
          `/items/${itemId}/transactions`,
        )
        const add = Math.max(0, SCALE_HISTORY - live.length)
        if (add > 0) await emulatorControlOk(ctx, 'POST', `/items/${itemId}/transactions`, { add })
        const synced = await syncWithResend(ctx, user, itemId)
        if (synced.status !== 200)
          throw new Error(`syncing ${itemId} answered ${synced.status}: ${synced.text.slice(0, 200)}`)
        transactions += live.length + add
      },
      HISTORY_CONCURRENCY,
    )
  }
  return { users, items: [...wanted], seconds: (performance.now() - t0) / 1000, transactions }
}

/** Users per `wrangler dev` session: the one local workerd keeps every object it has served in memory. */
const USERS_PER_SESSION = 200

/**
 * simulateUsers in sessions of USERS_PER_SESSION, each under a fresh `wrangler dev` and emulator on
 * the same local state. Deployed, each object lives on its own; locally one workerd holds them all
 * (and wrangler's dev proxy grows with the traffic), and a single session runs out of heap.
 */
async function simulateUsersInSessions(): Promise<Simulated> {
  const all: Simulated = { users: [], items: [], seconds: 0, transactions: 0 }
  for (let done = 0; done < SCALE_USERS; done += USERS_PER_SESSION) {
    const session = await startStack({ workdir, progress })
    try {
      const part = await simulateUsers(session, Math.min(USERS_PER_SESSION, SCALE_USERS - done))
      all.users.push(...part.users)
      all.items.push(...part.items)
      all.seconds += part.seconds
      all.transactions += part.transactions
    } catch (error) {
      console.error(`wrangler dev's last output:\n${session.tail()}`)
      throw error
    } finally {
      await stopGroup(session.wrangler)
      await session.emulator.close()
    }
  }
  return all
}

type ObjectSize = { userId: string; bytes: number; fileBytes: number; items: number; transactions: number }

/**
 * Each user object's size and what it holds, read after wrangler stopped: `bytes` is every page of
 * its tables and indexes (SQLite's dbstat; free pages left by dropped staging are not counted, as
 * they are reused), `fileBytes` the files on disk (database and WAL).
 */
function objectSizes(persistTo: string): ObjectSize[] {
  return userObjectFiles(persistTo).map((file) => {
    const [row] = sqliteQuery(
      file,
      `SELECT (SELECT value FROM meta WHERE key = 'user_id') AS user_id, (SELECT SUM(pgsize) FROM dbstat) AS bytes,
              (SELECT COUNT(*) FROM items) AS items, (SELECT COUNT(*) FROM transactions) AS transactions`,
    )
    return {
      userId: String(row?.user_id),
      bytes: Number(row?.bytes),
      fileBytes: [file, `${file}-wal`].filter(existsSync).reduce((n, f) => n + statSync(f).size, 0),
      items: Number(row?.items),
      transactions: Number(row?.transactions),
    }
  })
}

/** The D1 index's bytes (its table and index pages, as D1 counts them) and rows. */
function indexSize(persistTo: string): { bytes: number; payload: number; rows: number } {
  const dir = join(persistTo, 'v3', 'd1', 'miniflare-D1DatabaseObject')
  const [file] = readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f))
  if (!file) throw new Error(`no local D1 database in ${dir}`)
  const [row] = sqliteQuery(
    join(dir, file),
    `SELECT (SELECT SUM(pgsize) FROM dbstat WHERE name IN ('item_index', 'item_index_by_key')) AS bytes,
            (SELECT SUM(payload) FROM dbstat WHERE name IN ('item_index', 'item_index_by_key')) AS payload,
            (SELECT COUNT(*) FROM item_index) AS rows`,
  )
  return { bytes: Number(row?.bytes), payload: Number(row?.payload), rows: Number(row?.rows) }
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  )

/** The scale section of the report: the large syncs' curve, then storage per user and the projection. */
function scaleReport(
  syncs: { transactions: number; sync: SyncBench }[],
  simulated: Simulated | undefined,
  objects: ObjectSize[],
  index: ReturnType<typeof indexSize> | undefined,
): string[] {
  const mib = (kib: number) => fmt(kib / 1024, 1)
  const byUser = new Map(objects.map((o) => [o.userId, o]))
  const largest = syncs.at(-1)
  const largestObject = largest ? byUser.get(largest.sync.userId) : undefined
  const bytesPerTransaction = largestObject ? largestObject.bytes / largestObject.transactions : Number.NaN
  const simulatedUsers = new Set(simulated?.users.map((u) => u.id))
  const sample = objects.filter((o) => simulatedUsers.has(o.userId))
  const sampleBytes = sample.map((o) => o.bytes)
  const userBytes = median(sampleBytes)
  const indexBytesPerItem = index ? index.bytes / index.rows : Number.NaN
  const usersPerIndex = D1_CAP_BYTES / (indexBytesPerItem * TYPICAL.items)
  return [
    '',
    '### Scale: first sync of one Item with a large history',
    '',
    table(
      [
        'Transactions added',
        'First sync s',
        'Worker RSS growth MiB',
        'Worker VmHWM MiB',
        'Dev proxy growth MiB',
        'Listed (distinct) / at Plaid',
        'Object MiB (files)',
        'Worker CPU s (whole sync)',
        'Apply: object calls after the first',
        'Worker CPU ms per apply call',
        'Before the move: growth MiB',
      ],
      syncs.map(({ transactions, sync }) => [
        String(transactions),
        fmt(sync.first.ms / 1000, 1),
        mib(sync.rss.worker.peakKiB - sync.rss.worker.baselineKiB),
        mib(sync.rss.worker.hwmKiB),
        sync.rss.proxy ? mib(sync.rss.proxy.peakKiB - sync.rss.proxy.baselineKiB) : 'n/a',
        `${sync.listing.count} (${sync.listing.unique}) / ${sync.live}`,
        `${fmt((byUser.get(sync.userId)?.bytes ?? Number.NaN) / 1024 ** 2, 1)} (${fmt((byUser.get(sync.userId)?.fileBytes ?? Number.NaN) / 1024 ** 2, 1)})`,
        fmt(sync.cpu.totalMs / 1000, 1),
        sync.cpu.applyCalls > 0 ? String(sync.cpu.applyCalls) : '0 (one call)',
        sync.cpu.applyCalls > 0 ? fmt(sync.cpu.applyMs / sync.cpu.applyCalls, 0) : 'n/a',
        BEFORE.syncMiB[transactions] === undefined ? 'n/a' : fmt(BEFORE.syncMiB[transactions] as number, 1),
      ]),
    ),
    '',
    "_A sync stages each page in the user's object (one call a page), then applies the staging in parts of at most 5,000 rows, one object call and one transaction each, so the Worker holds about one page at a time and no write is larger than a part. The dev proxy is wrangler's (not the Worker's, and not deployed)._",
    '',
    "_CPU: user and system time of the workerd that runs the Worker and its objects (one process under `wrangler dev`; /proc, 10 ms ticks). Per apply call: that time between the Worker's log lines `sync applying its staged changes in parts` and `sync applied in parts`, divided by the object calls in between (every part but the first, which the call beginning the apply makes); it is the object's CPU per call plus the Worker's small share of making the call, an upper bound on what Cloudflare counts against the object's 30 s per request. The whole sync's figure adds the Worker's paging of Plaid (one call a page of 500) and the staging._",
    ...(simulated ? usersReport() : []),
  ]

  function usersReport(): string[] {
    return [
      '',
      `### Scale: ${sample.length} users with 2 Items each, and the projection`,
      '',
      table(
        ['Measure', 'Value'],
        [
          [
            `Users linked (2 Items each, first syncs run by the queue), each Item's history grown to ${SCALE_HISTORY} transactions and synced`,
            `${simulated?.users.length ?? 0} in ${fmt(simulated?.seconds ?? Number.NaN, 1)} s (${simulated?.transactions ?? 0} transactions; ${devProxyResends} syncs sent again after a dev-proxy 503)`,
          ],
          [
            "Bytes per user's object (median, p90)",
            `${fmt(userBytes)}, ${fmt(
              percentile(
                [...sampleBytes].sort((a, b) => a - b),
                90,
              ),
            )}`,
          ],
          ['Transactions per simulated user (median)', fmt(median(sample.map((o) => o.transactions)))],
          ['Bytes per stored transaction (largest object)', fmt(bytesPerTransaction, 0)],
          [
            "What one user's object may hold (10 GB)",
            `${fmt((10 * 1024 ** 3) / userBytes, 0)}× a simulated user's median`,
          ],
          [
            'D1 index bytes per Item (pages; row payload)',
            `${fmt(indexBytesPerItem, 0)}; ${fmt(index ? index.payload / index.rows : Number.NaN, 0)}`,
          ],
          [
            'Users one deployment holds (the D1 index is the shared part)',
            `${fmt(usersPerIndex / 1e6, 1)} million (before the move: about ${D1_USERS_BEFORE} in one D1)`,
          ],
        ],
      ),
      '',
      `_An object's bytes are the pages of its tables and indexes (the files \`wrangler dev\` keeps also hold free pages and a WAL). The projection divides D1's 10 GB by the index's bytes for ${TYPICAL.items} Items: the users' objects have no limit on their number._`,
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const startedAt = performance.now()
  try {
    const bundle = await measureBundle(workdir)
    const startup = await measureStartup(bundle.path)

    // The emulator in this process and the API under `wrangler dev`, which startStack gives the
    // emulator's dev client id (--var PLAID_CLIENT_ID): the Items we link and the webhook keys we
    // sign with are the ones the Worker sees.
    const stack = await startStack({ workdir, progress, onOutput: onWranglerLine })
    const ctx: BenchContext = stack
    const leader = stack.wrangler.pid
    if (leader === undefined) throw new Error('wrangler dev has no pid')
    workerPids = workerdPids(leader).worker
    const results: { route: Route; result: LoadResult }[] = []
    for (const route of ROUTES) results.push({ route, result: await measureRoute(route, ctx) })
    process.on('exit', (code) => {
      if (code !== 0) console.error(`wrangler dev's last output:\n${stack.tail()}`)
    })
    const sync = await measureSync(ctx, leader)
    const webhookResults: { route: Route; result: LoadResult }[] = []
    for (const route of WEBHOOK_ROUTES) webhookResults.push({ route, result: await measureRoute(route, ctx) })
    const scaleSyncs: { transactions: number; sync: SyncBench }[] = []
    let simulated: Simulated | undefined
    if (SCALE) {
      for (const transactions of SCALE_SIZES) {
        scaleSyncs.push({ transactions, sync: await measureSync(ctx, leader, transactions) })
      }
    }
    await stopGroup(stack.wrangler)
    if (SCALE && SCALE_USERS > 0) simulated = await simulateUsersInSessions()
    const objects = SCALE ? objectSizes(stack.persistTo) : []
    const index = SCALE ? indexSize(stack.persistTo) : undefined

    // Report
    const cpu = cpus()
    const loadTable = (rows: { route: Route; result: LoadResult }[]) =>
      table(
        ['Route', 'Expected', 'Requests', 'Errors', 'p50 ms', 'p99 ms', 'Req/s', 'Worker CPU ms/req'],
        rows.map(({ route, result }) => [
          route.name,
          String(route.expectStatus),
          String(result.requests),
          String(result.errors),
          fmt(percentile(result.latenciesMs, 50), 2),
          fmt(percentile(result.latenciesMs, 99), 2),
          fmt(result.requests / result.seconds, 0),
          fmt(result.cpuMsPerRequest, 2),
        ]),
      )
    const poolNotes = [...results, ...webhookResults]
      .filter(({ result }) => result.inlineSetups > 0)
      .map(
        ({ route, result }) =>
          `_${route.name}: the ${result.pooled} requests built ahead ran out; ${result.inlineSetups} were built inside the window, which lowers its Req/s._`,
      )
    const mib = (kib: number) => fmt(kib / 1024, 1)
    const syncAnswer = (t: Timed) => {
      const r = t.answer.json as { added?: number; modified?: number; removed?: number }
      return t.answer.status === 200
        ? `200, added ${r.added}, modified ${r.modified}, removed ${r.removed}`
        : `${t.answer.status}: ${t.answer.text.slice(0, 80)}`
    }
    const valid = webhookResults[0]?.result
    const lines = [
      '## Benchmark',
      '',
      `Node ${process.version} · ${cpu[0]?.model.trim() ?? 'unknown CPU'} · ${cpu.length} cores · ${new Date().toISOString()}`,
      '',
      '### Bundle (`wrangler deploy --dry-run --minify`)',
      '',
      table(
        ['Module', 'Raw KiB', 'Gzip KiB (level 9)', 'Budget', 'Result', 'Before the move, gzip KiB'],
        [
          [
            'index.js',
            fmt(bundle.rawKiB, 2),
            fmt(bundle.gzipKiB, 2),
            `${GZIP_BUDGET_KIB} KiB gzip`,
            bundle.pass ? 'PASS' : 'FAIL',
            fmt(BEFORE.gzipKiB, 2),
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
      loadTable(results),
      '',
      '_Link token and exchange: a new user per request (the API rate-limits each user); exchange: a new Sandbox public token per request, made before the timed window. Accounts: one user with one Item. Worker CPU: user and system time of the workerd that runs the Worker (with its local D1, objects and queue) over the window, per request._',
      '',
      `_Before the move to per-user objects: link-token p50 ${BEFORE.linkToken.p50} ms, ${BEFORE.linkToken.rps} req/s, ${BEFORE.linkToken.cpuMs} ms Worker CPU per request._`,
      '',
      `### Transactions sync (one Item, ${SYNC_TRANSACTIONS} transactions added at the emulator, ${sync.live} in all)`,
      '',
      table(
        ['Step', 'ms', 'Result'],
        [
          ['`POST /api/v1/banking/items/:item_id/sync`', fmt(sync.first.ms, 1), syncAnswer(sync.first)],
          ['the same sync again (no-op)', fmt(sync.noop.ms, 1), syncAnswer(sync.noop)],
          [
            '`GET /api/v1/banking/transactions?item_id=...&limit=500`, every page',
            fmt(sync.listing.ms, 1),
            `${sync.listing.pages} pages, ${sync.listing.count} transactions (${sync.listing.unique} distinct; emulator holds ${sync.live})`,
          ],
        ],
      ),
      '',
      table(
        [
          'RSS during the first sync (VmRSS every 20 ms)',
          'Before MiB',
          'Peak MiB',
          'Difference MiB',
          'Kernel peak (VmHWM) MiB',
          'Samples',
        ],
        [
          ['workerd running the Worker', sync.rss.worker] as const,
          ...(sync.rss.proxy ? [["wrangler's dev proxy (workerd, not the Worker)", sync.rss.proxy] as const] : []),
        ].map(([label, series]) => [
          `${label}, pid ${series.pids.join(', ')}`,
          mib(series.baselineKiB),
          mib(series.peakKiB),
          mib(series.peakKiB - series.baselineKiB),
          mib(series.hwmKiB),
          String(series.samples),
        ]),
      ),
      '',
      "_The Worker's process also holds the local D1 (SQLite) and the queue, so its growth bounds the isolate's from above. VmHWM is the kernel's peak after a reset just before the sync: it catches spikes between samples._",
      '',
      `### Webhook verification (concurrency ${CONCURRENCY}, ${SECONDS} s per row after ${WARMUP_SECONDS} s warm-up)`,
      '',
      loadTable(webhookResults),
      '',
      `_Each request is a distinct ITEM WEBHOOK_UPDATE_ACKNOWLEDGED webhook for an unknown item_id, signed (ES256) by the emulator with the Worker's client id just before the window (${valid?.pooled ?? 0} pairs for the valid row); a valid one is verified, queued and acknowledged by the queue consumer. Forged: the body was changed after signing._`,
      ...(poolNotes.length > 0 ? ['', ...poolNotes] : []),
      '',
      ...(SCALE ? scaleReport(scaleSyncs, simulated, objects, index) : []),
      '',
      `_Total bench time: ${fmt((performance.now() - startedAt) / 1000, 1)} s_`,
    ]
    console.log(lines.join('\n'))

    let failed = false
    if (!bundle.pass) {
      console.error(`FAIL: bundle is ${fmt(bundle.gzipKiB, 2)} KiB gzip, over the ${GZIP_BUDGET_KIB} KiB budget`)
      failed = true
    }
    for (const { route, result } of [...results, ...webhookResults]) {
      if (result.errors > 0) {
        console.error(`FAIL: ${route.name}: ${result.errors} errors; first: ${result.firstError}`)
        failed = true
      }
    }
    for (const { transactions, sync: run } of [{ transactions: SYNC_TRANSACTIONS, sync }, ...scaleSyncs]) {
      for (const problem of run.problems) {
        console.error(`FAIL: transactions sync of ${transactions}: ${problem}`)
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
