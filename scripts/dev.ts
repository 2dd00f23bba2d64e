/**
 * `npm run dev`: the Plaid emulator (:8788), the D1 migrations, the API under `wrangler dev` (:8787,
 * LOCAL_DEV=true) and the demo app (:8789); `-- --reset` wipes the local state first. What it
 * starts and how it stops: docs/dev.md.
 */
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { EMULATOR_STATE_FILE } from '../emulator/persist'
import { startEmulatorServer } from '../emulator/server'
import { serveDemo } from './demo-server'
import { removeSession, writeSession } from './dev-session'
import { devPorts, devUrls, devWorkerVars, wranglerDevEnv } from './dev-settings'
import { readDevVars } from './dev-vars'
import { cleanup, listenOrExit, onCleanup, spawnGroup } from './lib/process'
import { applyMigrations, wranglerEnv } from './lib/stack'

let ports: ReturnType<typeof devPorts>
try {
  ports = devPorts(process.env)
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
const urls = devUrls(ports)
const args = process.argv.slice(2)
const reset = args.includes('--reset')
const wranglerArgs = args.filter((arg) => arg !== '--reset')

/** Where `wrangler dev` and `wrangler d1 ... --local` keep local state by default; the emulator's file is in it too. */
const LOCAL_STATE_DIR = dirname(EMULATOR_STATE_FILE)

async function stop(code: number): Promise<never> {
  await cleanup()
  process.exit(code)
}

if (reset) {
  rmSync(LOCAL_STATE_DIR, { recursive: true, force: true })
  console.log(`--reset: ${LOCAL_STATE_DIR} removed (local D1, queues and the emulator's Items); starting empty`)
}

const emulator = await listenOrExit(
  'the Plaid emulator',
  `Port ${ports.emulator} is in use (another npm run dev?). Stop it, or move the emulator: EMULATOR_PORT=8790 npm run dev.`,
  () => startEmulatorServer(ports.emulator, { stateFile: EMULATOR_STATE_FILE }),
)
onCleanup(() => emulator.close())

// If whatever started us goes away without a signal (its parent killed outright), so do we.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) void stop(1)
}, 1000).unref()

// The demo app on its own origin, which the API must allow; against the emulator, the API also
// gets the emulator's URL, its own webhook URL and the demo's redirect page.
const devVars = readDevVars()
const demo = await serveDemo(urls, devVars)
onCleanup(() => demo.close())
const worker = devWorkerVars(devVars, urls)
for (const warning of worker.warnings) console.warn(`Warning: ${warning}`)
const devArgs = [
  ...Object.entries(worker.vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ...wranglerArgs,
]

// Where this session is, for `npm run sandbox:public-token` and `npm run dev:env` elsewhere.
writeSession(urls)
onCleanup(() => removeSession())

// The local D1 copy gets every migration before the API starts (a no-op when up to date).
try {
  const { applied } = await applyMigrations()
  console.log(applied > 0 ? `D1: ${applied} migration(s) applied to the local database` : 'D1: migrations up to date')
} catch (error) {
  console.error(`Applying the D1 migrations failed: ${(error as Error).message}`)
  await stop(1)
}

const wrangler = spawnGroup(
  'npx',
  ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(ports.api), '--var', 'LOCAL_DEV:true', ...devArgs],
  // Without wrangler's DevTools inspector proxy unless asked for (see wranglerDevEnv).
  wranglerEnv(wranglerDevEnv(wranglerArgs, process.env)),
  { output: 'inherit' },
)
wrangler.on('exit', (code) => void stop(code ?? 0))
