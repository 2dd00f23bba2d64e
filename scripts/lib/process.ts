/**
 * Child processes for the scripts: each in a process group of its own, signalled as a whole and
 * stopped on the way out (cleanup(), SIGINT/SIGTERM, and forcefully on exit), plus temp dirs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// One signal to the group reaches npx, wrangler and the workerd it spawns; killing npx alone would
// orphan workerd, still holding its port. The group's leader is a small supervisor that also kills
// the group if this process vanishes without cleaning up (tsx SIGKILLs us when we are slow to
// acknowledge a signal it relays, as under load, and no handler of ours runs then).
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
const tempDirs = new Set<string>()
const cleanupTasks: Array<() => Promise<void> | void> = []

/**
 * Starts `command` as the only member, with its descendants, of a new process group. Its output
 * is piped to us, or with `output: 'inherit'` goes to our stdout and stderr. Its stdin is always
 * closed: a group that is not the terminal's foreground group would be stopped (SIGTTIN) on a read.
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

/**
 * Runs `start`; a port already taken (EADDRINUSE) exits with `inUse`, any other failure with
 * "Could not start <what>: <reason>".
 */
export async function listenOrExit<T>(what: string, inUse: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (error) {
    const taken = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
    console.error(taken ? inUse : `Could not start ${what}: ${(error as Error).message}`)
    process.exit(1)
  }
}
