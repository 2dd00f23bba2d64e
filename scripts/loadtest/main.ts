/**
 * `npm run loadtest`: many users run the whole Linked Accounts flow at once against the real Worker
 * under Plaid chaos, then the run checks the API and the raw storage against the emulator. What it
 * does, checks and reads from the environment: docs/loadtest.md.
 */
import { writeFileSync } from 'node:fs'
import { API_PREFIX } from '../lib/api'
import { fmt } from '../lib/markdown'
import { emulatorControl, emulatorControlOk } from '../lib/plaid'
import { seeded } from '../lib/prng'
import { cleanup, stopGroup, tempDir } from '../lib/process'
import { startStack } from '../lib/stack'
import { devToken } from '../lib/tokens'
import { deliverWebhook, runColdBurst } from './burst'
import { checkDisconnects, GRACE_SECONDS, onPlaidExchange, waitForDisconnects } from './disconnects'
import {
  API_RATE_LIMIT,
  BURST_WEBHOOKS,
  CHAOS,
  CLIENT_ID,
  KEEP_STATE,
  progress,
  RAMP_MS,
  RATE_LIMIT_PERIOD_S,
  SEED,
  SETTLE_TIMEOUT_MS,
  USERS,
  WRANGLER_LOG_FILE,
} from './options'
import { type ChaosSnapshot, report } from './report'
import { newRun, onWranglerLine, problem, type Run, type RunState, type User } from './run'
import { makePlan, runUser } from './scenario'
import { type EmulatorItem, readTruth, settle, verifyThroughApi } from './verify-api'
import { verifyDatabase } from './verify-storage'

async function main(state: RunState): Promise<number> {
  const startedAt = performance.now()
  const workdir = tempDir('loadtest-', { keep: KEEP_STATE })
  const stack = await startStack({
    workdir,
    clientId: CLIENT_ID,
    emulator: { deliverWebhook: (delivery) => deliverWebhook(state, delivery), onExchange: onPlaidExchange },
    // Abandoned exchanges' pending links are settled this long after them, not 5 minutes.
    vars: () => ({ PENDING_LINK_GRACE_SECONDS: String(GRACE_SECONDS) }),
    onOutput: (line) => onWranglerLine(state, line),
    progress,
  })
  const run: Run = Object.assign(state, { stack, webhookUrl: `${stack.apiUrl}${API_PREFIX}/webhooks` })
  const ready = performance.now()

  const chaosSet = await emulatorControl(stack, 'POST', '/chaos', CHAOS)
  if (chaosSet.status !== 200)
    throw new Error(`the emulator refused the chaos settings: ${JSON.stringify(chaosSet.body)}`)
  progress(`chaos on: ${JSON.stringify(CHAOS)}`)

  const now = Math.floor(Date.now() / 1000)
  const runId = SEED.toString(36)
  const users: User[] = await Promise.all(
    Array.from({ length: USERS }, async (_, index) => {
      const id = `loadtest-${runId}-user-${String(index).padStart(4, '0')}`
      const token = await devToken(id, 2 * 3600, { now })
      return { index, id, token, plan: makePlan(seeded(SEED + index * 7919)), items: [], removed: [] }
    }),
  )

  progress(`${USERS} users start within ${RAMP_MS} ms (seed ${SEED})`)
  const flowsStarted = performance.now()
  let finished = 0
  const ticker = setInterval(() => {
    progress(
      `flows: ${finished}/${USERS} users done, ${run.samples.length} API answers, ${run.samples.filter((s) => s.phase === 'webhook').length} webhooks delivered`,
    )
  }, 10_000)
  await Promise.all(
    users.map((user) =>
      runUser(run, user)
        .catch((error: unknown) => {
          problem(
            run,
            'load generator',
            false,
            `${user.id}: the flow threw: ${error instanceof Error ? error.stack : String(error)}`,
          )
        })
        .finally(() => {
          finished++
        }),
    ),
  )
  clearInterval(ticker)
  const flowsMs = performance.now() - flowsStarted
  progress(`flows done in ${fmt(flowsMs / 1000, 1)} s; waiting for the webhook-driven syncs to settle`)

  // Before Plaid's truth is read: a pending link settled later could still remove its Item there.
  const disconnectWaitMs = await waitForDisconnects(
    stack,
    async () => (await emulatorControlOk<{ items: EmulatorItem[] }>(stack, 'GET', '/items')).items,
    progress,
  )
  let truth = await readTruth(run)
  const settled = await settle(run, users, truth)
  if (!settled.settled) {
    problem(
      run,
      'settle timeout',
      true,
      `transactions did not settle within ${SETTLE_TIMEOUT_MS / 1000} s (${settled.rounds} rounds); still different: ${settled.pending.map((u) => u.id).join(', ') || 'none (the queue was still busy)'}`,
    )
  }

  progress(`cold-isolate burst: ${BURST_WEBHOOKS} webhooks signed with a new key, all at once`)
  const burstStarted = performance.now()
  const burst = await runColdBurst(run, truth)
  const burstSettled = await settle(run, users, truth)
  if (!burstSettled.settled) {
    problem(
      run,
      'settle timeout',
      true,
      `transactions did not settle again within ${SETTLE_TIMEOUT_MS / 1000} s after the burst`,
    )
  }
  const burstMs = performance.now() - burstStarted

  // Freeze the faults: what was injected, then chaos off so verification reads Plaid plainly.
  const chaos = await emulatorControlOk<ChaosSnapshot>(stack, 'GET', '/chaos')
  await emulatorControlOk(stack, 'DELETE', '/chaos')
  truth = await readTruth(run)
  progress('verifying through the API')
  const verifyStarted = performance.now()
  await verifyThroughApi(run, users, truth)
  const { problems: disconnectProblems, ...disconnectCheck } = await checkDisconnects(
    stack,
    truth.items,
    disconnectWaitMs,
  )
  for (const message of disconnectProblems) problem(run, 'disconnect', true, message)
  progress('stopping wrangler dev; reading the raw D1 database')
  await stopGroup(stack.wrangler)
  await verifyDatabase(run, truth, stack.persistTo)
  run.checks.push(disconnectCheck)
  const verifyMs = performance.now() - verifyStarted
  const { rateLimitChecks } = run
  const badLimits = rateLimitChecks.filter(
    (r) =>
      !r.limited || r.allowed > API_RATE_LIMIT || r.allowed < API_RATE_LIMIT - 2 || !/^\d+$/.test(r.retryAfter ?? ''),
  )
  for (const r of badLimits.filter((b) => b.limited)) {
    problem(
      run,
      'rate limit',
      true,
      `${r.user}: 429 after ${r.allowed} Plaid-backed requests in the current ${RATE_LIMIT_PERIOD_S} s window (limit ${API_RATE_LIMIT}), Retry-After ${r.retryAfter}`,
    )
  }
  const othersLimited = run.samples.filter((x) => x.status === 429 && !x.route.includes('(hammering)'))
  for (const x of othersLimited.slice(0, 5)) {
    problem(run, 'rate limit', true, `${x.user}: ${x.route} answered 429 without hammering: ${x.detail}`)
  }
  run.checks.push({
    name: `Per-user rate limit: a user hammering "refresh" gets 429 with Retry-After once ${API_RATE_LIMIT} Plaid-backed requests are spent in the current ${RATE_LIMIT_PERIOD_S} s window; no one else gets 429`,
    compared: `${rateLimitChecks.length} hammering users: 429 after ${rateLimitChecks.map((r) => r.allowed).join(', ') || '-'} requests in the window, Retry-After ${[...new Set(rateLimitChecks.map((r) => r.retryAfter))].join(', ') || '-'}; ${othersLimited.length} 429s for the ${USERS - rateLimitChecks.length} others`,
    failures: badLimits.length + othersLimited.length,
  })

  if (WRANGLER_LOG_FILE) writeFileSync(WRANGLER_LOG_FILE, run.wranglerLog.join('\n'))
  const timings = {
    totalMs: performance.now() - startedAt,
    startupMs: ready - startedAt,
    flowsMs,
    burstMs,
    verifyMs,
  }
  const { text, fatal } = report(run, { chaos, burst, settled, truth, timings, workdir })
  console.log(text)
  return fatal === 0 ? 0 : 1
}

const state = newRun()
main(state).then(
  async (code) => {
    await cleanup()
    process.exit(code)
  },
  async (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    if ('stack' in state) console.error(`wrangler's last output:\n${(state as Run).stack.tail()}`)
    await cleanup()
    process.exit(1)
  },
)
