/** The webhooks the emulator POSTs to the API, retried as Plaid retries them, and the cold-isolate burst (docs/loadtest.md). */
import type { WebhookDelivery } from '../../emulator/control-types'
import { percentile } from '../lib/markdown'
import { emulatorControl, emulatorControlOk } from '../lib/plaid'
import { sleep } from '../lib/process'
import { BURST_WEBHOOKS, MAX_BURST_KEY_FETCHES, REQUEST_TIMEOUT_MS } from './options'
import { type BurstAnswer, inFlight, problem, type Run, type RunState } from './run'
import type { Truth } from './verify-api'

/** How the emulator delivers each webhook: one of the cold-isolate burst waits for its release first. */
export async function deliverWebhook(run: RunState, delivery: WebhookDelivery): Promise<void> {
  if (run.coldBurst.kid === null || kidOf(delivery.headers['Plaid-Verification']) !== run.coldBurst.kid) {
    return deliverWithRetries(run, delivery)
  }
  await run.coldBurst.released
  await deliverWithRetries(run, delivery, (answer) => run.coldBurst.first.push({ ...answer, at: performance.now() }))
  run.coldBurst.finished++
}

/** The `kid` a Plaid-Verification header names. */
function kidOf(verification: string | undefined): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(verification?.split('.')[0] ?? '', 'base64url').toString()) as {
      kid?: unknown
    }
    return typeof header.kid === 'string' ? header.kid : undefined
  } catch {
    return undefined
  }
}

/**
 * The emulator POSTs each webhook to the Item's URL (its default delivery does the same); this one
 * also records every attempt and, like Plaid, retries a delivery that did not get a 200 (Plaid:
 * up to 4 more times over 24 hours; here 1, 2, 4 and 8 s apart), so one failed POST does not
 * silently lose a sync. Every failed attempt is still reported and classified.
 */
async function deliverWithRetries(
  run: RunState,
  { url, headers, body }: WebhookDelivery,
  onFirstAttempt?: (answer: { status: number; ms: number; detail: string }) => void,
): Promise<void> {
  run.webhookDeliveries.total++
  for (let attempt = 1; attempt <= 5; attempt++) {
    const t0 = performance.now()
    let status = 0
    let text = ''
    let fromWorker = false
    const done = inFlight(run)
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      text = await res.text()
      status = res.status
      fromWorker = res.headers.has('X-Request-Id')
    } catch (error) {
      text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    } finally {
      done()
    }
    let detail = text.slice(0, 200)
    try {
      const parsed = JSON.parse(text) as { detail?: unknown }
      if (typeof parsed.detail === 'string') detail = parsed.detail
    } catch {}
    const ms = performance.now() - t0
    run.samples.push({
      route: 'POST /webhooks',
      phase: 'webhook',
      status,
      ms,
      user: 'plaid',
      detail,
      fromWorker,
      at: run.since(),
      sentAt: Date.now() - ms,
    })
    if (attempt === 1) onFirstAttempt?.({ status, ms, detail })
    if (status === 200) return
    if (attempt === 1) run.webhookDeliveries.retried++
    await sleep(1000 * 2 ** (attempt - 1))
  }
  run.webhookDeliveries.lost++
  problem(run, 'lost webhook', true, `a webhook to ${url} got no 200 in 5 attempts: ${body.slice(0, 200)}`)
}

export type BurstFigures = {
  fired: number
  items: number
  /** First attempts answered 2xx, 401, and anything else. */
  ok: number
  refused: number
  other: number
  p50Ms: number
  p99Ms: number
  /** From the release to the last first answer. */
  wallMs: number
  keyFetches: number
  previousKeyReads: number
}

export async function runColdBurst(run: Run, truth: Truth): Promise<BurstFigures> {
  const items = [...truth.live.keys()]
  const lookups = async () =>
    emulatorControlOk<{ keys: { kid: string }[]; lookups: Record<string, number> }>(run.stack, 'GET', '/webhook-keys')
  const before = await lookups()
  const previousKid = before.keys.at(-1)?.kid ?? ''
  // The previous key stays valid, so webhooks still being retried keep verifying.
  const { key } = await emulatorControlOk<{ key: { kid: string } }>(run.stack, 'POST', '/webhook-keys/rotate', {
    expire_previous: false,
  })
  let release = () => {}
  run.coldBurst.released = new Promise<void>((resolve) => {
    release = resolve
  })
  run.coldBurst.kid = key.kid
  const fires = await Promise.all(
    Array.from({ length: items.length === 0 ? 0 : BURST_WEBHOOKS }, (_, i) =>
      emulatorControl(run.stack, 'POST', `/items/${items[i % items.length]}/fire-webhook`, {
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
      }),
    ),
  )
  const refused = fires.filter((f) => f.status !== 200)
  if (fires.length === 0) problem(run, 'cold burst', true, 'no live Item to send the burst for')
  for (const f of refused.slice(0, 5)) {
    problem(run, 'cold burst', true, `the emulator did not fire a burst webhook: ${f.status} ${JSON.stringify(f.body)}`)
  }
  const fired = fires.length - refused.length
  const releasedAt = performance.now()
  release()
  // Each delivery ends within its 5 attempts: their timeouts plus 15 s of backoff.
  const deadline = Date.now() + 5 * REQUEST_TIMEOUT_MS + 15_000
  while (run.coldBurst.finished < fired && Date.now() < deadline) await sleep(100)
  if (run.coldBurst.finished < fired)
    problem(run, 'cold burst', true, `${fired - run.coldBurst.finished} deliveries still running`)
  const after = await lookups()
  const ok = (x: BurstAnswer) => x.status >= 200 && x.status < 300
  const ms = run.coldBurst.first.map((x) => x.ms).sort((a, b) => a - b)
  const figures: BurstFigures = {
    fired,
    items: Math.min(items.length, fired),
    ok: run.coldBurst.first.filter(ok).length,
    refused: run.coldBurst.first.filter((x) => x.status === 401).length,
    other: run.coldBurst.first.filter((x) => !ok(x) && x.status !== 401).length,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    wallMs: Math.max(0, ...run.coldBurst.first.map((a) => a.at - releasedAt)),
    keyFetches: after.lookups[key.kid] ?? 0,
    previousKeyReads: (after.lookups[previousKid] ?? 0) - (before.lookups[previousKid] ?? 0),
  }

  let failures = 0
  /** Counts a failure of the current check and reports it as a fatal problem. */
  const fail = (kind: string, message: string) => {
    failures++
    problem(run, kind, true, message)
  }
  for (const a of run.coldBurst.first.filter((x) => !ok(x))) {
    fail(`cold burst: ${a.status === 401 ? '401' : 'not 2xx'} at the first attempt`, `${a.status}: ${a.detail}`)
  }
  if (figures.keyFetches < 1 || figures.keyFetches > MAX_BURST_KEY_FETCHES)
    fail('cold burst: key fetches', `the new key was fetched ${figures.keyFetches} times`)
  run.checks.push({
    name: `Cold-isolate burst: ${BURST_WEBHOOKS} genuine webhooks at once, signed with a key no isolate has cached, each answered 2xx at its first attempt (none 401); the new key fetched from Plaid 1 to ${MAX_BURST_KEY_FETCHES} times`,
    compared: `${run.coldBurst.first.length} first attempts: ${figures.ok} 2xx, ${figures.refused} 401, ${figures.other} other; new key fetched ${figures.keyFetches}×`,
    failures,
  })
  return figures
}
