/**
 * `npm run dev`: the Plaid emulator on :8788, the D1 migrations applied to the local database,
 * and the API under `wrangler dev` on :8787 with LOCAL_DEV=true, so no secrets are needed.
 * Real Sandbox credentials in .dev.vars take over from the emulator (see README).
 */
import { spawn, spawnSync } from 'node:child_process'
import { startEmulatorServer } from '../emulator/server'
import { serveDemo } from './demo-server'

const apiPort = process.env.PORT ?? '8787'
const emulatorPort = Number(process.env.EMULATOR_PORT ?? 8788)

try {
  await startEmulatorServer(emulatorPort)
} catch (error) {
  const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
  console.error(
    inUse
      ? `Port ${emulatorPort} is in use (another npm run dev?). Stop it, or move the emulator: ` +
          `EMULATOR_PORT=8790 npm run dev, with PLAID_BASE_URL=http://127.0.0.1:8790 in .dev.vars.`
      : `Could not start the Plaid emulator: ${(error as Error).message}`,
  )
  process.exit(1)
}

const devArgs = [...(await serveDemo({ api: apiPort, emulator: emulatorPort })), ...process.argv.slice(2)]

// The local D1 copy gets every migration before the API starts (a no-op when up to date).
const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], {
  stdio: 'inherit',
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
})
if (migrate.status !== 0) {
  console.error('Applying the D1 migrations failed; see the output above.')
  process.exit(1)
}

const wrangler = spawn(
  'npx',
  ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', apiPort, '--var', 'LOCAL_DEV:true', ...devArgs],
  { stdio: 'inherit', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
)
const stop = () => wrangler.kill('SIGINT')
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
wrangler.on('exit', (code) => process.exit(code ?? 0))
