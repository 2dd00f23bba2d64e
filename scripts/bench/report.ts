/** `npm run bench`'s Markdown report: bundle, start-up, routes, sync and scale. */
import { fmt, machine, median, percentile, table } from '../lib/markdown'
import type { BundleResult } from './bundle'
import {
  CONCURRENCY,
  D1_CAP_BYTES,
  GZIP_BUDGET_KIB,
  SCALE,
  SCALE_HISTORY,
  SECONDS,
  STARTUP_RUNS,
  SYNC_TRANSACTIONS,
  TYPICAL,
  WARMUP_SECONDS,
} from './options'
import type { LoadResult, Route } from './routes'
import type { indexSize, ObjectSize, Simulated } from './scale'
import { CPU_RATIO_BUDGET, type SdkComparison } from './sdk'
import type { StartupResult } from './startup'
import type { SyncBench, Timed } from './sync'

export type RouteResult = { route: Route; result: LoadResult }
export type BenchResults = {
  startedAt: number
  bundle: BundleResult
  startup: StartupResult
  results: RouteResult[]
  sdk: SdkComparison
  webhookResults: RouteResult[]
  sync: SyncBench
  scaleSyncs: { transactions: number; sync: SyncBench }[]
  simulated?: Simulated
  objects: ObjectSize[]
  index?: ReturnType<typeof indexSize>
}

/** The bench's Markdown report. */
export function benchReport(r: BenchResults): string {
  const { startedAt, bundle, startup, results, sdk, webhookResults, sync, scaleSyncs, simulated, objects, index } = r
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
    machine(),
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
    loadTable(results),
    '',
    '_Link token and exchange: a new user per request (the API rate-limits each user); exchange: a new Sandbox public token per request, made before the timed window. Accounts: one user with one Item. Worker CPU: user and system time of the workerd that runs the Worker (with its local D1, objects and queue) over the window, per request._',
    '',
    `### Link-token CPU against the official SDK (\`wrangler dev\`, the same emulator, ${sdk.requestsEach} link tokens each)`,
    '',
    table(
      ['Worker', 'workerd main-thread CPU µs per link token', 'Own CPU µs (minus the floor)'],
      [
        ['this API', fmt(sdk.apiUs, 0), fmt(sdk.apiUs - sdk.floorUs, 0)],
        ['official `plaid` SDK (scripts/bench/sdk-worker)', fmt(sdk.sdkUs, 0), fmt(sdk.sdkUs - sdk.floorUs, 0)],
        ['floor: one plain `fetch` to Plaid', fmt(sdk.floorUs, 0), '0'],
      ],
    ),
    '',
    `**Ratio ${fmt(sdk.ratio, 2)}** (budget ${CPU_RATIO_BUDGET}): ${sdk.pass ? 'PASS' : 'FAIL'}; from ${fmt(sdk.spread[0], 2)} to ${fmt(sdk.spread[1], 2)} over the run's fifths. _The three take turns in slices of 200 requests (a new user each), so the machine's other work falls on all three alike; the ratio is the API's own CPU over the SDK Worker's, over all slices._`,
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
  return lines.join('\n')
}

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
            `${simulated?.users.length ?? 0} in ${fmt(simulated?.seconds ?? Number.NaN, 1)} s (${simulated?.transactions ?? 0} transactions; ${simulated?.resends ?? 0} syncs sent again after a dev-proxy 503)`,
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
          ['Users one deployment holds (the D1 index is the shared part)', `${fmt(usersPerIndex / 1e6, 1)} million`],
        ],
      ),
      '',
      `_An object's bytes are the pages of its tables and indexes (the files \`wrangler dev\` keeps also hold free pages and a WAL). The projection divides D1's 10 GB by the index's bytes for ${TYPICAL.items} Items: the users' objects have no limit on their number._`,
    ]
  }
}
