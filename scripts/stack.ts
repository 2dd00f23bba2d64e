/**
 * The local stack for scripts that drive the real Worker: the Plaid emulator in this process and
 * the API under `wrangler dev` (local workerd, a throwaway D1 with the migrations applied, the
 * local Queue, .dev.vars ignored), on free ports, with every child process in its own process
 * group so nothing outlives the script. Shared by scripts/bench.ts and scripts/loadtest.ts, with
 * what else both need: dev bearer tokens, calls to the emulator, env settings and report helpers.
 *
 * Use: `const stack = await startStack({ workdir })`, then `await cleanup()` on the way out (also
 * installed on SIGINT/SIGTERM and, forcefully, on exit).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign } from 'hono/jwt'
import type { EmulatorOptions } from '../emulator/emulator'
import { type EmulatorServer, startEmulatorServer } from '../emulator/server'
import { DEV_JWT_SECRET, EMULATOR_CLIENT_ID, EMULATOR_SECRET } from '../src/dev-defaults'

// ---------------------------------------------------------------------------------------------
// Child processes. wrangler runs in its own process group, so one signal to the group reaches
// npx, wrangler and the workerd it spawns; killing npx alone would orphan workerd, still holding
// its port. The group's leader is a small supervisor that also kills the group if this process
// vanishes without cleaning up (tsx SIGKILLs us when we are slow to acknowledge a signal it
// relays, as under load, and no handler of ours runs then).

const SUPERVISOR = `
const { spawn } = require('node:child_process')
const [parent, command, ...args] = process.argv.slice(1)
const child = spawn(command, args, { stdio: 'inherit' })
child.on('error', (error) => { console.error(error.message); process.exit(127) })
child.on('exit', (code) => process.exit(code ?? 1))
setInterval(() => {
  try { process.kill(Number(parent), 0) } catch { process.kill(-process.pid, 'SIGKILL') }
}, 500)
`

/** Groups we started; kept after their leader exits, since members (workerd) may outlive it. */
const groups = new Set<ChildProcess>()
/** Temp dirs to remove on the way out. */
const tempDirs = new Set<string>()

/**
 * Starts `command` as the only member, with its descendants, of a new process group. Its output
 * is piped to us, or with `output: 'inherit'` goes to our stdout and stderr as it comes. Its stdin
 * is always closed: a group that is not the terminal's foreground group would be stopped
 * (SIGTTIN) as soon as it read from the terminal.
 */
export function spawnGroup(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  { output = 'pipe' }: { output?: 'pipe' | 'inherit' } = {},
): ChildProcess {
  const child = spawn(process.execPath, ['-e', SUPERVISOR, String(process.pid), command, ...args], {
    detached: true,
    stdio: ['ignore', output, output],
    env,
  })
  groups.add(child)
  return child
}

/** Signals the child's whole group; 0 only checks that some member is alive. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  if (child.pid === undefined) return false
  try {
    process.kill(-child.pid, signal)
    return true
  } catch {
    return false // ESRCH: the whole group is gone already
  }
}

/** SIGTERM to the group, then SIGKILL whatever of it is still alive after `graceMs`. */
export async function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (!signalGroup(child, 'SIGTERM')) return
  const deadline = Date.now() + graceMs
  // Wait for the group, not just our child: workerd can outlive wrangler for a moment.
  while (Date.now() < deadline && signalGroup(child, 0)) await sleep(100)
  signalGroup(child, 'SIGKILL')
}

/** A temp dir removed by cleanup(), unless `keep` (to inspect it afterwards). */
export function tempDir(prefix: string, { keep = false } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  if (!keep) tempDirs.add(dir)
  return dir
}

/** Work that must finish before the process exits, after the groups have stopped (see onCleanup). */
const cleanupTasks: Array<() => Promise<void> | void> = []

/** Adds `task` to what cleanup() does once every group has stopped (saving state, say). */
export function onCleanup(task: () => Promise<void> | void): void {
  cleanupTasks.push(task)
}

/** Stops every group we started (gracefully first), runs the onCleanup tasks and removes the temp dirs; idempotent. */
export async function cleanup(): Promise<void> {
  await Promise.all([...groups].map((child) => stopGroup(child)))
  for (const task of cleanupTasks) {
    try {
      await task()
    } catch (error) {
      console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
}

// Last resort if we exit without cleanup: 'exit' handlers must be synchronous, so no grace here.
process.on('exit', () => {
  for (const child of groups) signalGroup(child, 'SIGKILL')
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping child processes`)
    void cleanup().finally(() => process.exit(code))
  })
}

/** Waits for a child to finish, capturing its output. */
export function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }),
    )
  })
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A positive number from the environment variable `name` (an integer with `integer`), or `fallback` if unset. */
export function positiveNumber(name: string, fallback: number, { integer = false } = {}): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (integer ? !Number.isInteger(value) || value <= 0 : !Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${raw}`)
  }
  return value
}

export const positiveInt = (name: string, fallback: number) => positiveNumber(name, fallback, { integer: true })

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')

/** A Markdown table. */
export const table = (header: string[], rows: string[][]) =>
  [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A port the OS says is free now. Another process could take it before we bind; unlikely. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

/** The environment for a wrangler command: ours, without wrangler's telemetry. */
export const wranglerEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  ...extra,
})

// ---------------------------------------------------------------------------------------------
// The stack

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
    const migrate = await collect(
      spawnGroup(
        'npx',
        ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistTo],
        wranglerEnv({ CI: 'true' }), // no confirmation prompt
      ),
    )
    if (migrate.code !== 0) {
      throw new Error(`wrangler d1 migrations apply failed (exit ${migrate.code}):\n${migrate.stdout}${migrate.stderr}`)
    }
  }
  const args = [
    'wrangler',
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(apiPort),
    // Fixed and free, so a developer's own `wrangler dev` on 9229 does not collide with ours.
    '--inspector-port',
    String(inspectorPort),
    '--env-file',
    envFile,
    // Local storage (D1, Queue) in the temp dir: never touches `npm run dev`'s state.
    '--persist-to',
    persistTo,
    '--show-interactive-dev-session=false',
    '--var',
    'LOCAL_DEV:true',
    '--var',
    `PLAID_BASE_URL:${emulatorUrl}`,
    '--var',
    `PLAID_CLIENT_ID:${clientId}`,
    '--var',
    `PLAID_SECRET:${EMULATOR_SECRET}`,
    ...Object.entries(options.vars?.(`http://127.0.0.1:${apiPort}`) ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
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
  while (true) {
    if (exited !== undefined) throw new Error(`wrangler dev exited (code ${exited}) before it was ready:\n${output}`)
    if (Date.now() > deadline) throw new Error(`wrangler dev did not answer /healthz within 60 s:\n${output}`)
    try {
      const res = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    await sleep(250)
  }
  return { apiUrl, emulatorUrl, clientId, persistTo, wrangler, emulator, tail: () => output }
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

// ---------------------------------------------------------------------------------------------
// Users and the emulator

/** A dev bearer token for the user `sub`, signed with the secret LOCAL_DEV=true accepts, valid from `now` for `ttlSeconds`. */
export function devToken(sub: string, ttlSeconds: number, now = Math.floor(Date.now() / 1000)): Promise<string> {
  return sign({ sub, iat: now, exp: now + ttlSeconds }, DEV_JWT_SECRET, 'HS256')
}

/**
 * Where the emulator is and the Plaid client id to call it with: the one the Worker uses, since
 * the emulator keeps Items and webhook signing keys per client id. A Stack is one.
 */
export type EmulatorClient = Pick<Stack, 'emulatorUrl' | 'clientId'>

/** A Plaid endpoint on the emulator, called as the Worker's Plaid client. */
export async function plaidCall(client: EmulatorClient, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${client.emulatorUrl}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'PLAID-CLIENT-ID': client.clientId,
      'PLAID-SECRET': EMULATOR_SECRET,
      'Plaid-Version': '2020-09-14',
    },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`emulator ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** The emulator's control API (`/emulator${path}`), under the client's id. */
export async function emulatorControl(
  client: EmulatorClient,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${client.emulatorUrl}/emulator${path}`, {
    method,
    headers: { 'PLAID-CLIENT-ID': client.clientId },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

/** emulatorControl's answer body; throws unless the status is 2xx. */
export async function emulatorControlOk<T>(
  client: EmulatorClient,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await emulatorControl(client, method, path, body)
  if (res.status >= 300)
    throw new Error(`emulator ${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body as T
}
