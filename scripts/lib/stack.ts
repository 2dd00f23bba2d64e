/**
 * The local stack for scripts that drive the real Worker: the Plaid emulator in this process and
 * the API under `wrangler dev` (local workerd, a throwaway D1 with the migrations applied, the
 * local Queue, .dev.vars ignored), on free ports, each child in its own process group (process.ts).
 * Use: `const stack = await startStack({ workdir })`, then `await cleanup()` on the way out.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { EmulatorOptions } from '../../emulator/emulator'
import { type EmulatorServer, startEmulatorServer } from '../../emulator/server'
import { EMULATOR_CLIENT_ID, EMULATOR_SECRET } from '../../src/dev-defaults'
import { collect, freePort, sleep, spawnGroup } from './process'

/** The environment for a wrangler command: ours, without wrangler's telemetry. */
export const wranglerEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  ...extra,
})

/**
 * Applies every D1 migration to the local database (`persistTo`, or wrangler's default place);
 * answers how many were applied. wrangler prints its migration table once per migration applied,
 * so its output is kept, and shown only in the error when applying fails.
 */
export async function applyMigrations(persistTo?: string): Promise<{ applied: number }> {
  const args = ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local']
  if (persistTo !== undefined) args.push('--persist-to', persistTo)
  // CI=true: no confirmation prompt.
  const result = await collect(spawnGroup('npx', args, wranglerEnv({ CI: 'true' })))
  if (result.code !== 0) {
    throw new Error(`wrangler d1 migrations apply failed (exit ${result.code}):\n${result.stdout}${result.stderr}`)
  }
  return { applied: (result.stdout.match(/executed successfully/g) ?? []).length }
}

export type StackOptions = {
  /** Where the env file and the local storage go (a tempDir()). */
  workdir: string
  /** The Plaid client id the Worker uses (default: the emulator's dev one). */
  clientId?: string
  /** Options for the emulator (webhook delivery...). */
  emulator?: EmulatorOptions
  /** Every line `wrangler dev` prints (its own lines and the Worker's console output). */
  onOutput?: (line: string) => void
  /** Progress messages (default: stderr). */
  progress?: (message: string) => void
  /** More `--var NAME:value` settings for the Worker, given the URL the API will have. */
  vars?: (apiUrl: string) => Record<string, string>
  /**
   * Runs the Worker without its static assets (the OpenAPI document). Under `wrangler dev` the
   * assets' router runs in the Worker's workerd and spends CPU on every request, which Cloudflare
   * does not count as the Worker's: the bench leaves it out to measure the Worker alone.
   */
  withoutAssets?: boolean
}

export type Stack = {
  /** The API under `wrangler dev`, e.g. http://127.0.0.1:41234 */
  apiUrl: string
  /** The Plaid emulator in this process. */
  emulatorUrl: string
  clientId: string
  /** wrangler's --persist-to: the local D1 (and Queue) state. */
  persistTo: string
  wrangler: ChildProcess
  /** The emulator's server: close() frees what it holds once the stack is done with. */
  emulator: EmulatorServer
  /** The last few KB of wrangler's output, to explain a failure. */
  tail(): string
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const progress = options.progress ?? ((message: string) => console.error(message))
  const clientId = options.clientId ?? EMULATOR_CLIENT_ID
  const [emulatorPort, apiPort, inspectorPort] = [await freePort(), await freePort(), await freePort()]
  // The emulator announces itself with console.log; send that to stderr so stdout stays the report.
  const log = console.log
  console.log = (...args: unknown[]) => console.error(...args)
  let emulator: EmulatorServer
  try {
    emulator = await startEmulatorServer(emulatorPort, options.emulator)
  } finally {
    console.log = log
  }
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`

  // An empty --env-file makes wrangler skip .dev.vars, so a developer's real Plaid credentials or
  // JWT settings cannot leak into (or change) the run. An explicit PLAID_BASE_URL turns off the
  // LOCAL_DEV emulator defaults, hence the emulator credentials passed alongside.
  const envFile = join(options.workdir, 'stack.env')
  writeFileSync(envFile, '')
  const persistTo = join(options.workdir, 'state')
  // A fresh local D1 gets the schema first, as `npm run dev` does, for routes that store Items.
  if (existsSync('migrations')) {
    progress('applying D1 migrations to a fresh local database')
    await applyMigrations(persistTo)
  }
  const vars: Record<string, string> = {
    LOCAL_DEV: 'true',
    PLAID_BASE_URL: emulatorUrl,
    PLAID_CLIENT_ID: clientId,
    PLAID_SECRET: EMULATOR_SECRET,
    ...options.vars?.(`http://127.0.0.1:${apiPort}`),
  }
  const args = [
    ...['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(apiPort)],
    ...(options.withoutAssets ? ['-c', configWithoutAssets(options.workdir)] : []),
    // Fixed and free, so a developer's own `wrangler dev` on 9229 does not collide with ours.
    ...['--inspector-port', String(inspectorPort), '--env-file', envFile],
    // Local storage (D1, Queue) in the temp dir: never touches `npm run dev`'s state.
    ...['--persist-to', persistTo, '--show-interactive-dev-session=false'],
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ]
  progress(`starting wrangler dev on :${apiPort} (emulator on :${emulatorPort})`)
  const wrangler = spawnGroup('npx', args, wranglerEnv())
  // Keep the tail of its output to explain a failed start; also drains the pipes so it never blocks.
  let output = ''
  for (const stream of [wrangler.stdout, wrangler.stderr]) {
    let partial = ''
    stream?.on('data', (chunk: Buffer) => {
      const text = chunk.toString()
      output = (output + text).slice(-8000)
      if (!options.onOutput) return
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) options.onOutput(line)
    })
  }
  let exited: number | null | undefined
  wrangler.on('exit', (code) => {
    exited = code
  })

  const apiUrl = `http://127.0.0.1:${apiPort}`
  const deadline = Date.now() + 60_000
  while (!(await healthy(apiUrl))) {
    if (exited !== undefined) throw new Error(`wrangler dev exited (code ${exited}) before it was ready:\n${output}`)
    if (Date.now() > deadline) throw new Error(`wrangler dev did not answer /healthz within 60 s:\n${output}`)
    await sleep(250)
  }
  return { apiUrl, emulatorUrl, clientId, persistTo, wrangler, emulator, tail: () => output }
}

/** A copy of wrangler.toml in `workdir` without `[assets]`, its paths made absolute. */
function configWithoutAssets(workdir: string): string {
  const path = join(workdir, 'wrangler.toml')
  const config = readFileSync('wrangler.toml', 'utf8')
    .replace(/^\[assets\]\n(?:[^[\n].*\n)*/m, '')
    .replace(/^main = "(.*)"$/m, (_, main: string) => `main = ${JSON.stringify(resolve(main))}`)
  if (config.includes('[assets]')) throw new Error('wrangler.toml: could not leave out [assets]')
  writeFileSync(path, config)
  return path
}

/** Whether the API answers GET /healthz with 200 now. */
export async function healthy(apiUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(2000) })
    await res.arrayBuffer()
    return res.status === 200
  } catch {
    return false // not listening yet
  }
}

/**
 * Runs SQL against the local D1 copy with `wrangler d1 execute --local --json` (stop `wrangler
 * dev` first: two processes on one SQLite file is asking for trouble). Answers the rows of each
 * statement, in order.
 */
export async function d1Query(persistTo: string, sql: string): Promise<Record<string, unknown>[][]> {
  const result = await collect(
    spawnGroup(
      'npx',
      ['wrangler', 'd1', 'execute', 'DB', '--local', '--persist-to', persistTo, '--json', '--command', sql],
      // stdout must be only the JSON, whatever log level the caller runs wrangler with.
      wranglerEnv({ CI: 'true', WRANGLER_LOG: 'log' }),
    ),
  )
  if (result.code !== 0) {
    throw new Error(`wrangler d1 execute failed (exit ${result.code}) for ${sql}:\n${result.stdout}${result.stderr}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(result.stdout)
  } catch {
    throw new Error(
      `wrangler d1 execute printed something other than JSON for ${sql}:\n${result.stdout.slice(0, 2000)}`,
    )
  }
  const statements = Array.isArray(parsed) ? parsed : [parsed]
  return statements.map((statement) => {
    const rows = (statement as { results?: unknown } | null)?.results
    if (!Array.isArray(rows)) throw new Error(`wrangler d1 execute answered an unexpected shape for ${sql}`)
    return rows as Record<string, unknown>[]
  })
}
