/**
 * The link-token CPU against the official SDK's (docs/bench.md): the API's route, the SDK Worker
 * (./sdk-worker) and the runtime's floor (that Worker's `/floor`: one plain fetch to Plaid) are
 * each sent the same number of link-token requests, in rounds, while the API's workerd and the
 * SDK Worker's workerd are timed from /proc. A Worker's own CPU is its figure minus the floor's.
 */
import { DEV_JWT_SECRET, EMULATOR_SECRET } from '../../src/dev-defaults'
import { API_PREFIX, type ApiRequest, bearer, callApi } from '../lib/api'
import { mapLimit } from '../lib/concurrency'
import { freePort, sleep, spawnGroup, stopGroup } from '../lib/process'
import { wranglerEnv } from '../lib/stack'
import { CONCURRENCY, progress } from './options'
import { mainThreadCpuMs, workerdPids } from './proc'
import { type BenchContext, newUser } from './users'

/** The budget: the API's own CPU per link token at most this share of the SDK Worker's. */
export const CPU_RATIO_BUDGET = 0.22
/**
 * Each Worker is sent its requests in slices, the three taking turns, so that whatever else the
 * machine does meanwhile falls on all three alike: measured in long runs one after the other,
 * the floor alone moved by a third from one run to the next on the development machine.
 */
const SLICES = 30
const REQUESTS_PER_SLICE = 200
const WARMUP_REQUESTS = 1000
/** The spread is the lowest and highest ratio over this many consecutive groups of slices. */
const GROUPS = 5

export type SdkComparison = {
  /** µs of workerd main-thread CPU per link token, over every measured slice. */
  apiUs: number
  sdkUs: number
  floorUs: number
  /** (api - floor) / (sdk - floor) over every measured slice. */
  ratio: number
  /** The lowest and highest ratio of the GROUPS groups of slices. */
  spread: [number, number]
  requestsEach: number
  pass: boolean
  errors: number
  firstError?: string
}

/** Starts the SDK Worker under `wrangler dev`, pointed at the same emulator as the API. */
async function startSdkWorker(ctx: BenchContext) {
  const port = await freePort()
  const vars = {
    PLAID_BASE_URL: ctx.emulatorUrl,
    PLAID_CLIENT_ID: ctx.clientId,
    PLAID_SECRET: EMULATOR_SECRET,
    JWT_SECRET: DEV_JWT_SECRET,
  }
  const args = ['wrangler', 'dev', '-c', 'scripts/bench/sdk-worker/wrangler.toml', '--ip', '127.0.0.1']
  args.push(
    '--port',
    String(port),
    '--inspector-port',
    String(await freePort()),
    '--show-interactive-dev-session=false',
  )
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`)
  const wrangler = spawnGroup('npx', args, wranglerEnv())
  wrangler.stdout?.resume()
  wrangler.stderr?.resume()
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while ((await callApi(url, { method: 'POST', path: '/floor' })).status !== 200) {
    if (Date.now() > deadline) throw new Error('the official-SDK Worker did not start within 60 s')
    await sleep(250)
  }
  if (wrangler.pid === undefined) throw new Error('wrangler dev (SDK Worker) has no pid')
  return { url, wrangler, pids: workerdPids(wrangler.pid).worker }
}

type Target = { url: string; pids: number[]; request: (token: string) => ApiRequest }
type Name = 'api' | 'sdk' | 'floor'
const NAMES: readonly Name[] = ['api', 'sdk', 'floor']

/** The main-thread CPU, in ms, of sending each token's request, CONCURRENCY at a time. */
async function cpuOf(target: Target, tokens: string[], failures: string[]): Promise<number> {
  const before = mainThreadCpuMs(target.pids)
  await mapLimit(tokens, CONCURRENCY, async (token) => {
    const answer = await callApi(target.url, target.request(token), { parse: false })
    if (answer.status !== 200) failures.push(`${target.url}: status ${answer.status}: ${answer.text.slice(0, 200)}`)
  })
  return mainThreadCpuMs(target.pids) - before
}

/** Tokens for `count` requests: a user each (the API allows a user 30 Plaid calls a minute); the floor sends none. */
const tokensFor = (name: Name, count: number) =>
  mapLimit(Array.from({ length: count }), CONCURRENCY, async () =>
    name === 'floor' ? '' : (await newUser('cpu')).token,
  )

/** CPU ms per Worker, none yet. */
const noCpu = (): Record<Name, number> => ({ api: 0, sdk: 0, floor: 0 })

const ownRatio = (ms: Record<Name, number>) => (ms.api - ms.floor) / (ms.sdk - ms.floor)

export async function compareWithSdk(ctx: BenchContext, apiPids: number[]): Promise<SdkComparison> {
  progress('link-token CPU against the official SDK: starting the SDK Worker')
  const sdk = await startSdkWorker(ctx)
  try {
    const linkToken = (token: string): ApiRequest => ({
      method: 'POST',
      path: `${API_PREFIX}/link-token`,
      headers: bearer(token),
    })
    const targets: Record<Name, Target> = {
      api: { url: ctx.apiUrl, pids: apiPids, request: linkToken },
      sdk: { url: sdk.url, pids: sdk.pids, request: (token: string) => ({ ...linkToken(token), path: '/' }) },
      floor: { url: sdk.url, pids: sdk.pids, request: () => ({ method: 'POST', path: '/floor' }) },
    }
    const failures: string[] = []
    // Warm-up first: both Workers compile lazily and open their connections on first use.
    for (const name of NAMES) await cpuOf(targets[name], await tokensFor(name, WARMUP_REQUESTS), failures)
    const groups = Array.from({ length: GROUPS }, noCpu)
    for (let slice = 0; slice < SLICES; slice++) {
      const group = groups[Math.floor((slice * GROUPS) / SLICES)]
      if (!group) throw new Error(`slice ${slice} falls in no group`)
      // Each slice starts with another of the three, so none always follows the same one.
      for (let turn = 0; turn < NAMES.length; turn++) {
        const name = NAMES[(slice + turn) % NAMES.length] ?? 'api'
        group[name] += await cpuOf(targets[name], await tokensFor(name, REQUESTS_PER_SLICE), failures)
      }
      if ((slice + 1) % (SLICES / GROUPS) === 0) progress(`link-token CPU: ${slice + 1} of ${SLICES} slices`)
    }
    const total = noCpu()
    for (const group of groups) for (const name of NAMES) total[name] += group[name]
    const requestsEach = SLICES * REQUESTS_PER_SLICE
    const perRequest = (ms: number) => (ms * 1000) / requestsEach
    const ratios = groups.map(ownRatio)
    const ratio = ownRatio(total)
    return {
      apiUs: perRequest(total.api),
      sdkUs: perRequest(total.sdk),
      floorUs: perRequest(total.floor),
      ratio,
      spread: [Math.min(...ratios), Math.max(...ratios)],
      requestsEach,
      pass: ratio <= CPU_RATIO_BUDGET,
      errors: failures.length,
      firstError: failures[0],
    }
  } finally {
    await stopGroup(sdk.wrangler)
  }
}
