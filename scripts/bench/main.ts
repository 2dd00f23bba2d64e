/**
 * `npm run bench`: the bundle's size against its budget, module start-up, latency and throughput per
 * route, a transactions sync with the Worker's memory, and scale, as Markdown tables; exits non-zero
 * over budget or on any failed request. What each figure means and the env knobs: docs/bench.md.
 */
import { fmt } from '../lib/markdown'
import { cleanup, stopGroup, tempDir } from '../lib/process'
import { startStack } from '../lib/stack'
import { measureBundle } from './bundle'
import { GZIP_BUDGET_KIB, progress, SCALE, SCALE_SIZES, SCALE_USERS, SYNC_TRANSACTIONS } from './options'
import { workerdPids } from './proc'
import { benchReport, type RouteResult } from './report'
import { measureRoute, ROUTES, WEBHOOK_ROUTES } from './routes'
import { indexSize, objectSizes, type Simulated, simulateUsersInSessions } from './scale'
import { CPU_RATIO_BUDGET, compareWithSdk } from './sdk'
import { measureStartup } from './startup'
import { measureSync, onWranglerLine, type SyncBench } from './sync'
import type { BenchContext } from './users'

async function main(): Promise<number> {
  const startedAt = performance.now()
  // The bundle, wrangler's env file and its local storage; removed on the way out.
  const workdir = tempDir('bench-')
  try {
    const bundle = await measureBundle(workdir)
    const startup = await measureStartup(bundle.path)

    // The emulator in this process and the API under `wrangler dev`, which startStack gives the
    // emulator's dev client id (--var PLAID_CLIENT_ID): the Items we link and the webhook keys we
    // sign with are the ones the Worker sees.
    const stack = await startStack({ workdir, progress, onOutput: onWranglerLine, withoutAssets: true })
    const ctx: BenchContext = stack
    const leader = stack.wrangler.pid
    if (leader === undefined) throw new Error('wrangler dev has no pid')
    const workerPids = workerdPids(leader).worker
    // First, while the API's workerd has no background work (the exchanges below queue syncs).
    const sdk = await compareWithSdk(ctx, workerPids)
    const results: RouteResult[] = []
    for (const route of ROUTES) results.push({ route, result: await measureRoute(route, ctx, workerPids) })
    process.on('exit', (code) => {
      if (code !== 0) console.error(`wrangler dev's last output:\n${stack.tail()}`)
    })
    const sync = await measureSync(ctx, leader)
    const webhookResults: RouteResult[] = []
    for (const route of WEBHOOK_ROUTES)
      webhookResults.push({ route, result: await measureRoute(route, ctx, workerPids) })
    const scaleSyncs: { transactions: number; sync: SyncBench }[] = []
    let simulated: Simulated | undefined
    if (SCALE) {
      for (const transactions of SCALE_SIZES) {
        scaleSyncs.push({ transactions, sync: await measureSync(ctx, leader, transactions) })
      }
    }
    await stopGroup(stack.wrangler)
    if (SCALE && SCALE_USERS > 0) simulated = await simulateUsersInSessions(workdir)
    const objects = SCALE ? objectSizes(stack.persistTo) : []
    const index = SCALE ? indexSize(stack.persistTo) : undefined
    console.log(
      benchReport({
        startedAt,
        bundle,
        startup,
        results,
        sdk,
        webhookResults,
        sync,
        scaleSyncs,
        simulated,
        objects,
        index,
      }),
    )

    let failed = false
    if (!bundle.pass) {
      console.error(`FAIL: bundle is ${fmt(bundle.gzipKiB, 2)} KiB gzip, over the ${GZIP_BUDGET_KIB} KiB budget`)
      failed = true
    }
    if (!sdk.pass) {
      console.error(
        `FAIL: link-token CPU is ${fmt(sdk.ratio, 2)}x the official SDK's, over the ${CPU_RATIO_BUDGET} budget`,
      )
      failed = true
    }
    if (sdk.errors > 0) {
      console.error(`FAIL: link-token CPU comparison: ${sdk.errors} errors; first: ${sdk.firstError}`)
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
