/**
 * The session file: while `npm run dev` runs, .wrangler/dev-session.json says where its API,
 * emulator and demo are, so the commands of a second terminal (`npm run sandbox:public-token`,
 * `npm run dev:env`) follow PORT, EMULATOR_PORT and DEMO_PORT without their being exported there.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { type DevSession, type DevUrls, parseSession, sessionUrls } from './dev-settings'

export const SESSION_FILE = '.wrangler/dev-session.json'

/** Records this process's session; removed again by removeSession (or found dead by its pid). */
export function writeSession(urls: DevUrls, file = SESSION_FILE): void {
  const session: DevSession = { ...urls, pid: process.pid }
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(session, null, 2)}\n`)
}

/** Removes the session file if it is this process's. */
export function removeSession(file = SESSION_FILE): void {
  if (readSession(file)?.pid === process.pid) rmSync(file, { force: true })
}

/** The running session, or undefined when there is none (no file, or its process has ended). */
export function readSession(file = SESSION_FILE): DevSession | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const session = parseSession(text)
  if (!session) return undefined
  try {
    process.kill(session.pid, 0)
  } catch (error) {
    // EPERM: alive, someone else's. ESRCH: gone, so is the session.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined
  }
  return session
}

/** Where `npm run dev` is, as seen from this terminal (see sessionUrls). */
export const currentDevUrls = (env: NodeJS.ProcessEnv = process.env): DevUrls => sessionUrls(env, readSession())
