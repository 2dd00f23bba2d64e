/** The routes the bench times under load (docs/bench.md), and the load itself: warm-up, pool, timed window. */
import { API_PREFIX, type ApiRequest, bearer, callApi } from '../lib/api'
import { mapLimit } from '../lib/concurrency'
import { percentile } from '../lib/markdown'
import { emulatorControlOk, sandboxPublicToken } from '../lib/plaid'
import { CONCURRENCY, INSTITUTION_ID, MAX_POOL, POOL_MARGIN, progress, SECONDS, WARMUP_SECONDS } from './options'
import { cpuMs } from './proc'
import { type BenchContext, EXCHANGE_TOKEN, linkItem, newUser } from './users'

export type BenchRequest = ApiRequest
const LINK_TOKEN = `${API_PREFIX}/link-token`
const ACCOUNTS = `${API_PREFIX}/accounts`
const WEBHOOKS = `${API_PREFIX}/webhooks`

// Add a route by appending to ROUTES; a route whose requests need fresh state (a new
// public_token per exchange, say) builds each request in `setup`, which is not timed: before the
// timed window a pool of requests is built with it, sized from the warm-up. A route that needs
// state once (an Item to list) builds its one request in `once`, before the warm-up.
export type Route = BenchRequest & {
  name: string
  expectStatus: number
  /** Text the answer must contain, when the status alone would not show why it was given. */
  expectText?: string
  /** Builds the request every iteration sends (overriding the static fields); runs once, before the warm-up. */
  once?: (ctx: BenchContext) => Promise<BenchRequest>
  /** Builds each request (overriding the static fields above); runs before the timer starts. */
  setup?: (ctx: BenchContext) => BenchRequest | Promise<BenchRequest>
}

export const ROUTES: Route[] = [
  // The floor: routing, CORS middleware and a JSON answer, no Plaid call.
  { name: 'GET /healthz', method: 'GET', path: '/healthz', expectStatus: 200 },
  {
    name: 'POST /api/v1/banking/link-token',
    method: 'POST',
    path: LINK_TOKEN,
    expectStatus: 200,
    // A user per request: the API allows each user 30 requests that reach Plaid per minute.
    setup: async () => ({ method: 'POST', path: LINK_TOKEN, headers: bearer((await newUser('link')).token) }),
  },
  {
    name: 'POST /api/v1/banking/exchange-token',
    method: 'POST',
    path: EXCHANGE_TOKEN,
    expectStatus: 201,
    // A user and a Sandbox public token per request: besides the rate limit, a user may link an
    // institution only once.
    setup: async (ctx) => {
      const [user, publicToken] = await Promise.all([newUser('exchange'), sandboxPublicToken(ctx, INSTITUTION_ID)])
      return { method: 'POST', path: EXCHANGE_TOKEN, headers: bearer(user.token), body: { public_token: publicToken } }
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
      return { method: 'GET', path: ACCOUNTS, headers: bearer(user.token) }
    },
  },
]

/** Measured after the sync, so the queue work they cause does not overlap it. */
export const WEBHOOK_ROUTES: Route[] = [
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

export type LoadResult = {
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
      // callApi reads the whole body: the request is not done until it arrives, and an unread body
      // keeps the connection from being reused.
      const answer = await callApi(ctx.apiUrl, request, { parse: false })
      let problem: string | undefined
      if (answer.status === 0) problem = answer.text
      else if (answer.status !== route.expectStatus || (route.expectText && !answer.text.includes(route.expectText))) {
        problem = `status ${answer.status}: ${answer.text.slice(0, 200)}`
      }
      const elapsed = answer.ms
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
  return mapLimit(Array.from({ length: count }), CONCURRENCY, () => Promise.resolve(setup(ctx)))
}

/**
 * Warm-up, then the timed window. For a route with `setup`, the warm-up's median latency says
 * how many requests CONCURRENCY workers can send in SECONDS (Little's law); 2.5 times that is
 * built beforehand (signed webhooks then carry an iat of just before the window).
 */
export async function measureRoute(route: Route, ctx: BenchContext, workerPids: number[]): Promise<LoadResult> {
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
