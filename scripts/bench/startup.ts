/**
 * Module start-up: the time Node takes to `import()` the bundle, and to answer a first GET /healthz,
 * each in a fresh `node` process (a proxy for workerd's start-up, not Cloudflare's number).
 * Fresh processes rather than cache-busting query strings in one process: a second import in the
 * same isolate can reuse V8's compilation cache and already-warm dependencies of Node's loader,
 * which would flatter later samples. The cost is ~50 ms of node boot per sample, not measured.
 */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { collect } from '../lib/process'
import { progress, STARTUP_RUNS } from './options'

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

export type StartupResult = { importMs: number[]; firstRequestMs: number[] }

export async function measureStartup(bundlePath: string): Promise<StartupResult> {
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
