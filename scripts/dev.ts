/**
 * `npm run dev`: the Plaid emulator on :8788 (EMULATOR_PORT), the D1 migrations applied to the
 * local database, the API under `wrangler dev` on :8787 (PORT) with LOCAL_DEV=true, so no secrets
 * are needed, and the demo app on :8789 (DEMO_PORT). The API is told where the emulator and it
 * itself are (scripts/dev-settings.ts), and .wrangler/dev-session.json tells the commands of other
 * terminals (scripts/dev-session.ts). Real Sandbox credentials in .dev.vars take over from the
 * emulator (see README).
 *
 * The emulator keeps its state in .wrangler/state beside wrangler's local D1 and queues, so a
 * restart finds both as they were; `npm run dev -- --reset` wipes them all first. Stopping it
 * (Ctrl-C, or SIGTERM / SIGINT to npm or to this process) stops everything it started: wrangler
 * and its workerd run in a process group of their own, signalled as a whole (scripts/stack.ts),
 * whose leader also ends the group should this process vanish without doing so.
 */
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { EMULATOR_STATE_FILE } from '../emulator/persist'
import { startEmulatorServer } from '../emulator/server'
import { serveDemo } from './demo-server'
import { removeSession, writeSession } from './dev-session'
import { devPorts, devUrls, devWorkerVars, wranglerDevEnv } from './dev-settings'
import { readDevVars } from './dev-vars'
import { cleanup, collect, onCleanup, spawnGroup, wranglerEnv } from './stack'

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

try {
  const emulator = await startEmulatorServer(ports.emulator, { stateFile: EMULATOR_STATE_FILE })
  onCleanup(() => emulator.close())
} catch (error) {
  const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
  console.error(
    inUse
      ? `Port ${ports.emulator} is in use (another npm run dev?). Stop it, or move the emulator: ` +
          `EMULATOR_PORT=8790 npm run dev.`
      : `Could not start the Plaid emulator: ${(error as Error).message}`,
  )
  process.exit(1)
}

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
const migrate = await collect(
  spawnGroup('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], wranglerEnv({ CI: 'true' }), {
    output: 'inherit',
  }),
)
if (migrate.code !== 0) {
  console.error('Applying the D1 migrations failed; see the output above.')
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
