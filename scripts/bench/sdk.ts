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
import { cpuMs, workerdPids } from './proc'
import { type BenchContext, newUser } from './users'

/** The budget: the API's own CPU per link token at most this share of the SDK Worker's. */
export const CPU_RATIO_BUDGET = 0.22
const ROUNDS = 5
const REQUESTS_PER_ROUND = 600

export type SdkComparison = {
  /** Medians over the rounds, in µs of workerd CPU per link token. */
  apiUs: number
  sdkUs: number
  floorUs: number
  /** (api - floor) / (sdk - floor), the median of the rounds' ratios. */
  ratio: number
  pass: boolean
  errors: number
  firstError?: string
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

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

/** The workerd CPU per request, in µs, over `requests` sent CONCURRENCY at a time. */
async function cpuPerRequest(target: Target, tokens: string[], failures: string[]): Promise<number> {
  const before = cpuMs(target.pids)
  await mapLimit(tokens, CONCURRENCY, async (token) => {
    const answer = await callApi(target.url, target.request(token), { parse: false })
    if (answer.status !== 200) failures.push(`${target.url}: status ${answer.status}: ${answer.text.slice(0, 200)}`)
  })
  return ((cpuMs(target.pids) - before) * 1000) / tokens.length
}

export async function compareWithSdk(ctx: BenchContext, apiPids: number[]): Promise<SdkComparison> {
  progress('link-token CPU against the official SDK: starting the SDK Worker')
  const sdk = await startSdkWorker(ctx)
  try {
    const linkToken = (token: string): ApiRequest => ({
      method: 'POST',
      path: `${API_PREFIX}/link-token`,
      headers: bearer(token),
    })
    const targets = {
      api: { url: ctx.apiUrl, pids: apiPids, request: linkToken },
      sdk: { url: sdk.url, pids: sdk.pids, request: (token: string) => ({ ...linkToken(token), path: '/' }) },
      floor: { url: sdk.url, pids: sdk.pids, request: () => ({ method: 'POST', path: '/floor' }) },
    }
    const failures: string[] = []
    const rounds: Record<keyof typeof targets, number>[] = []
    // A round of warm-up first: both Workers compile lazily and open their connections on first use.
    for (let round = 0; round <= ROUNDS; round++) {
      const figures = { api: 0, sdk: 0, floor: 0 }
      for (const name of ['api', 'sdk', 'floor'] as const) {
        // A user per request: the API allows each user 30 requests that reach Plaid per minute.
        // The floor sends no token.
        const tokens = await mapLimit(Array.from({ length: REQUESTS_PER_ROUND }), CONCURRENCY, async () =>
          name === 'floor' ? '' : (await newUser('cpu')).token,
        )
        figures[name] = await cpuPerRequest(targets[name], tokens, failures)
      }
      if (round > 0) rounds.push(figures)
      progress(`link-token CPU round ${round || 'warm-up'}: ${JSON.stringify(figures)}`)
    }
    const ratio = median(rounds.map((r) => (r.api - r.floor) / (r.sdk - r.floor)))
    return {
      apiUs: median(rounds.map((r) => r.api)),
      sdkUs: median(rounds.map((r) => r.sdk)),
      floorUs: median(rounds.map((r) => r.floor)),
      ratio,
      pass: ratio <= CPU_RATIO_BUDGET,
      errors: failures.length,
      firstError: failures[0],
    }
  } finally {
    await stopGroup(sdk.wrangler)
  }
}
