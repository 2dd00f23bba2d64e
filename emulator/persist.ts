/**
 * The emulator's memory on disk, so `npm run dev` can be stopped and started again without the
 * emulator forgetting the Items that the local D1 still holds (./snapshot.ts says what is kept).
 * A file of another version, or one that does not load, is reported and ignored: the emulator
 * then starts empty.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { type EmulatorState, parseState, restoreTenants } from './snapshot'
import type { Tenant } from './state'

/** Where `npm run dev` and `npm run emulator` keep it: beside wrangler's local state, wiped with it. */
export const EMULATOR_STATE_FILE = '.wrangler/state/plaid-emulator.json'

/**
 * The tenants saved in `path`: none when there is no file; none, with a warning naming the file
 * and the reason, when it cannot be used.
 */
export async function loadStateFile(path: string, now?: () => number): Promise<Map<string, Tenant>> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
    console.warn(`Plaid emulator: ignoring ${path} (${(error as Error).message}); starting empty`)
    return new Map()
  }
  const state = parseState(text)
  if ('problem' in state) {
    console.warn(`Plaid emulator: ignoring ${path} (${state.problem}); starting empty`)
    return new Map()
  }
  try {
    return await restoreTenants(state, now)
  } catch (error) {
    console.warn(`Plaid emulator: ignoring ${path} (${(error as Error).message}); starting empty`)
    return new Map()
  }
}

/** Writes the state whole or not at all (a stop half-way through leaves the previous file). */
export function writeStateFile(path: string, state: EmulatorState): void {
  mkdirSync(dirname(path), { recursive: true })
  const partial = `${path}.partial`
  writeFileSync(partial, JSON.stringify(state))
  renameSync(partial, path)
}
