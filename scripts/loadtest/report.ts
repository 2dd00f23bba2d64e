/** The load test's Markdown report: what each answer was, the figures, the checks and the problems. */
import { CHAOS_MARKER, type ChaosCounts } from '../../emulator/chaos'
import { cell, fmt, machine, percentile, table } from '../lib/markdown'
import type { BurstFigures } from './burst'
import { KEEP_STATE, PLAID_PATHS, SEED, USERS, WRANGLER_PROXY_503 } from './options'
import { type Problem, problem, type RunState, type Sample } from './run'
import type { Truth } from './verify-api'

export type ReportInput = {
  chaos: ChaosSnapshot
  burst: BurstFigures
  settled: { ms: number; settled: boolean; rounds: number }
  truth: Truth
  /** Durations in ms: the whole run and its phases. */
  timings: { totalMs: number; startupMs: number; flowsMs: number; burstMs: number; verifyMs: number }
  workdir: string
}

export type ChaosSnapshot = {
  config: Record<string, unknown> | null
  totals: ChaosCounts
  endpoints: Record<string, ChaosCounts>
}

/** What an answer was, for the status table: injected faults surfacing, or the API's own. */
function classify(sample: Sample, chaos: ChaosSnapshot): { label: string; unexplained5xx: boolean } {
  const { status, detail } = sample
  const paths = PLAID_PATHS[sample.route] ?? []
  const injectedAt = (kind: keyof ChaosCounts) => paths.some((p) => (chaos.endpoints[p]?.[kind] ?? 0) > 0)
  if (status >= 200 && status < 300) return { label: 'ok', unexplained5xx: false }
  if (status === 0) return { label: `no answer: ${detail}`, unexplained5xx: false }
  if (status >= 500) {
    // wrangler's dev proxy answers this for any network failure between it and the Worker on a
    // non-GET request (its "did the Worker restart" check compares URLs with and without the
    // path, so it always says yes); the Worker never saw or never finished the request.
    if (!sample.fromWorker && detail.startsWith(WRANGLER_PROXY_503)) {
      return { label: `wrangler dev proxy, not the Worker: "${WRANGLER_PROXY_503}..."`, unexplained5xx: false }
    }
    if (/unexpected answer from Plaid \(HTTP 503\)/.test(detail) && injectedAt('status_503')) {
      return {
        label: 'injected Plaid 503 page: "unexpected answer from Plaid (HTTP 503): not JSON"',
        unexplained5xx: false,
      }
    }
    if (detail.includes(CHAOS_MARKER) && (injectedAt('status_500') || injectedAt('rate_429'))) {
      return { label: `injected Plaid ${sample.errorCode ?? 'error'} answered as ${status}`, unexplained5xx: false }
    }
    return { label: `UNEXPLAINED: ${detail}`, unexplained5xx: true }
  }
  if (status === 400 && detail.includes(CHAOS_MARKER)) {
    const kind = sample.errorType === 'RATE_LIMIT_EXCEEDED' ? 'rate_429' : 'status_500'
    const plaidStatus = kind === 'rate_429' ? '429' : '500'
    const seen = injectedAt(kind) ? '' : ' (but no such fault counted for this route!)'
    return {
      label: `injected Plaid ${plaidStatus} ${sample.errorType}/${sample.errorCode} passed through as 400${seen}`,
      unexplained5xx: false,
    }
  }
  if (status === 429) return { label: `API rate limit: ${detail}`, unexplained5xx: false }
  return { label: detail.replace(/[A-Za-z0-9]{37}/g, '<id>').slice(0, 160), unexplained5xx: false }
}

/** Answers per route: counts by status class and latency percentiles (ms). */
function latencyTable(list: Sample[]): string {
  const byRoute = new Map<string, Sample[]>()
  for (const s of list) byRoute.set(s.route, [...(byRoute.get(s.route) ?? []), s])
  const rows = [...byRoute].sort(([a], [b]) => a.localeCompare(b))
  const row = (name: string, ss: Sample[]) => {
    const ms = ss.map((s) => s.ms).sort((a, b) => a - b)
    const count = (lo: number, hi: number) => String(ss.filter((s) => s.status >= lo && s.status < hi).length)
    return [
      name,
      String(ss.length),
      count(200, 300),
      count(400, 500),
      count(500, 600),
      String(ss.filter((s) => s.status === 0).length),
      fmt(percentile(ms, 50)),
      fmt(percentile(ms, 99)),
      fmt(ms.at(-1) ?? Number.NaN),
    ]
  }
  return table(
    ['Route', 'Requests', '2xx', '4xx', '5xx', 'No answer', 'p50', 'p99', 'max'],
    [...rows.map(([name, ss]) => row(`\`${name}\``, ss)), row('**all**', list)],
  )
}

/** Classifies every answer (adding the problems it shows) and renders the Markdown report. */
export function report(run: RunState, input: ReportInput): { text: string; fatal: number } {
  const { chaos, burst, settled, truth, timings: t, workdir } = input
  const { samples: all, counters, workerLog, restarts, rateLimitChecks, webhookDeliveries } = run
  const flow = all.filter((s) => s.phase === 'flow')
  const webhooks = all.filter((s) => s.phase === 'webhook')
  const classified = all.map((s) => ({ s, ...classify(s, chaos) }))
  for (const { s, label, unexplained5xx } of classified) {
    const what = `${s.phase} ${s.route} (${s.user}) answered ${s.status} at ${fmt(s.at, 1)} s: ${label}`
    if (unexplained5xx) problem(run, 'unexplained 5xx', true, what)
    // Not injected. wrangler's dev proxy also answers this 503 when its own connection to workerd
    // fails under load, with the Worker up throughout; it fails the run when wrangler reported a
    // restart or crash of the Worker, which it could hide. Either way the data checks below prove
    // that nothing was lost, and the users' retries must have got through.
    else if (label.startsWith('wrangler dev proxy'))
      problem(run, "5xx from wrangler dev's proxy (local dev server)", restarts.length > 0, what)
    else if (s.status === 0) problem(run, 'no answer (connection failed)', true, what)
  }
  const statusRows = new Map<string, { status: number; label: string; count: number; routes: Set<string> }>()
  for (const { s, label } of classified) {
    if (s.status >= 200 && s.status < 300) continue
    const key = `${s.status}|${label}`
    const row = statusRows.get(key) ?? { status: s.status, label, count: 0, routes: new Set<string>() }
    row.count++
    row.routes.add(`\`${s.route}\``)
    statusRows.set(key, row)
  }
  const byStatus = new Map<number, number>()
  for (const s of all) byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1)

  const { problems, checks } = run
  const fatal = problems.filter((p) => p.fatal)
  const kinds = new Map<string, Problem[]>()
  for (const p of problems) kinds.set(p.kind, [...(kinds.get(p.kind) ?? []), p])
  const liveItems = truth.live.size
  const chaosRow = (name: string, c: ChaosCounts) => [
    name,
    ...[c.calls, c.latency].map(String),
    fmt(c.latency ? c.latency_ms_total / c.latency : Number.NaN),
    ...[c.rate_429, c.status_500, c.status_503].map(String),
  ]
  const chaosRows = Object.entries(chaos.endpoints).map(([path, c]) => chaosRow(`\`${path}\``, c))
  chaosRows.push(chaosRow('**all**', chaos.totals))

  const lines = [
    '## Load test: Linked Accounts flow under Plaid chaos',
    '',
    `${machine()} · seed ${SEED}`,
    '',
    `**${fatal.length === 0 ? 'PASS' : 'FAIL'}** · ${USERS} users, at most ${run.concurrency.peak} requests in flight at once · ${flow.length} API requests in the flows (${all.length} with settling, verification and webhooks) · run time ${fmt(t.totalMs / 1000, 1)} s (start-up ${fmt(t.startupMs / 1000, 1)} s, flows ${fmt(t.flowsMs / 1000, 1)} s, settling ${fmt(settled.ms / 1000, 1)} s, cold burst and settling again ${fmt(t.burstMs / 1000, 1)} s, verification ${fmt(t.verifyMs / 1000, 1)} s)`,
    '',
    `Chaos: \`${JSON.stringify(chaos.config)}\`${chaos.config?.endpoints ? '' : " on every Plaid path but /sandbox/*, /webhook_verification_key/get (and the emulator's control API)"}.`,
    '',
    '### What the users did',
    '',
    table(
      ['Step', 'Count'],
      [
        ['users (each its own JWT)', String(USERS)],
        ['second institution linked', String(counters.secondInstitutions)],
        ['Sandbox public tokens (Link sessions)', String(counters.publicTokens)],
        ['same public token sent again (expect 200, same Item)', String(counters.replays)],
        ['double-clicked exchanges (two at once)', String(counters.doubleClicks)],
        ['Link again after a spent public token', String(counters.relinks)],
        ['live balance refreshes', String(counters.refreshes)],
        [
          'transaction changes at Plaid with SYNC_UPDATES_AVAILABLE',
          `${counters.transactionChanges} (+${counters.added} added, ${counters.modified} modified, ${counters.removed} removed)`,
        ],
        ['users with a second round of changes', String(counters.secondRounds)],
        ['manual syncs racing the webhook syncs', String(counters.manualSyncs)],
        ['Items removed by their user', String(counters.removals)],
        ['users hammering "refresh" into the rate limit', String(rateLimitChecks.length)],
        [
          'steps retried / retries / steps that gave up',
          `${counters.stepsRetried} / ${counters.retries} / ${counters.gaveUp}`,
        ],
      ],
    ),
    '',
    '### Latency by route (user flows, every attempt; ms)',
    '',
    latencyTable(flow),
    '',
    '### Settling and verification requests (ms)',
    '',
    latencyTable(all.filter((s) => s.phase === 'settle' || s.phase === 'verify')),
    '',
    '### Webhooks the emulator POSTed to the API',
    '',
    latencyTable(webhooks),
    '',
    `Deliveries: ${webhookDeliveries.total} (the cold-isolate burst's included), of which ${webhookDeliveries.retried} needed more than one attempt and ${webhookDeliveries.lost} never got a 200 (the table counts attempts).`,
    '',
    `Queue (from the Worker's log): ${['webhook sync done', 'webhook job failed', 'sync lost the cursor race; starting again from the new cursor', 'webhook for an unknown item ignored'].map((m) => `${m}: ${workerLog.messages.get(m) ?? 0}`).join(' · ')}`,
    '',
    '### Cold-isolate burst',
    '',
    `After the flows settled, the emulator's signing key was rotated (the previous one left valid) and ${burst.fired} SYNC_UPDATES_AVAILABLE webhooks for ${burst.items} live Items, signed with the new key, were released at once.`,
    '',
    table(
      [
        'Webhooks',
        'First attempts 2xx',
        '401',
        'Other',
        'p50 ms',
        'p99 ms',
        'All answered after',
        'New key fetched',
        'Previous key re-read',
      ],
      [
        [
          String(burst.fired),
          String(burst.ok),
          String(burst.refused),
          String(burst.other),
          fmt(burst.p50Ms),
          fmt(burst.p99Ms),
          `${fmt(burst.wallMs)} ms`,
          `${burst.keyFetches}×`,
          `${burst.previousKeyReads}×`,
        ],
      ],
    ),
    '',
    '### Answers by status (all phases)',
    '',
    table(
      ['Status', 'Count'],
      [...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => [String(s), String(n)]),
    ),
    '',
    table(
      ['Status', 'Count', 'What', 'Routes'],
      [...statusRows.values()]
        .sort((a, b) => a.status - b.status || b.count - a.count)
        .map((r) => [String(r.status), String(r.count), cell(r.label), [...r.routes].join(', ')]),
    ),
    '',
    '### Faults injected by the emulator (GET /emulator/chaos)',
    '',
    table(
      ['Plaid path', 'Calls', 'Delayed', 'Mean delay ms', '429 RATE_LIMIT_EXCEEDED', '500 API_ERROR', '503 HTML page'],
      chaosRows,
    ),
    '',
    '### Verified',
    '',
    table(
      ['Check', 'Compared', 'Result'],
      checks.map((c) => [cell(c.name), cell(c.compared), c.failures === 0 ? 'PASS' : `FAIL (${c.failures})`]),
    ),
    '',
    `Transactions settled (every user's list equal to Plaid's, queue quiet 5 s): ${settled.settled ? 'yes' : 'NO'}, after ${fmt(settled.ms / 1000, 1)} s and ${settled.rounds} polling rounds. Live Items at Plaid: ${liveItems}.`,
    '',
    '### Problems',
    '',
    problems.length === 0
      ? 'None.'
      : [...kinds]
          .map(
            ([kind, list]) =>
              `- **${kind}** (${list.length}${list[0]?.fatal ? ', fails the run' : ''}):\n${list
                .slice(0, 8)
                .map((p) => `  - ${p.message.replaceAll('\n', ' ')}`)
                .join('\n')}${list.length > 8 ? `\n  - ... and ${list.length - 8} more` : ''}`,
          )
          .join('\n'),
  ]
  const evidence = classified
    .filter((c) => c.unexplained5xx && c.s.requestId !== undefined)
    .map((c) => workerLog.serverErrors.get(c.s.requestId as string))
    .filter((line): line is string => line !== undefined)
  if (evidence.length > 0) {
    lines.push('', "<details><summary>The Worker's log lines for the unexplained 5xx (first 20)</summary>", '', '```')
    lines.push(...evidence.slice(0, 20), '```', '</details>')
  }
  if (restarts.length > 0) {
    lines.push('', `wrangler restarted the Worker ${restarts.length} time(s) during the run:`, '')
    lines.push(...restarts.slice(0, 10).map((r) => `- at ${fmt(r.at, 1)} s: \`${r.line.slice(0, 160)}\``))
  }
  if (KEEP_STATE) lines.push('', `State kept in ${workdir}`)
  return { text: lines.join('\n'), fatal: fatal.length }
}
