/**
 * The emulator's memory on disk, so `npm run dev` can be stopped and started again without the
 * emulator forgetting the Items that the local D1 still holds. What is kept is what Plaid would
 * keep: each tenant's Items (accounts, balances, status, transaction history and so every cursor
 * handed out), access, public and link tokens, and webhook signing keys. The control API's tools
 * (faults, call counts, chaos, the test outbox) start afresh.
 *
 * A transaction history is saved as what it was made from plus the changes appended to it, and
 * made again on load (it is generated from a PRNG seeded with the item_id), with a check that
 * the result ends where the saved one did. A file of another version, or one that does not load,
 * is reported and ignored: the emulator then starts empty.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { EmulatedPlaidError } from './plaid-error'
import { INSTITUTIONS, type Item, type LinkToken, type PublicToken, Tenant } from './state'
import { type LogChange, type LogOrigin, TransactionLog } from './transactions'
import type { ExportedSigningKey } from './webhooks'

/** Bump when the shape of the file, or how a history is generated from it, changes. */
export const STATE_VERSION = 1

/** Where `npm run dev` and `npm run emulator` keep it: beside wrangler's local state, wiped with it. */
export const EMULATOR_STATE_FILE = '.wrangler/state/plaid-emulator.json'

export type EmulatorState = { version: typeof STATE_VERSION; tenants: Record<string, TenantState> }

type TenantState = {
  items: ItemState[]
  accessTokens: [string, string][]
  publicTokens: [string, PublicToken][]
  linkTokens: [string, LinkToken][]
  webhookKeys: ExportedSigningKey[]
}

type ErrorState = {
  status: number
  errorType: string
  errorCode: string
  message: string
  displayMessage: string | null
  since: number
}

type LogState = { origin: LogOrigin; changes: LogChange[]; events: number; lastTransactionId: string | null }

type ItemState = Omit<Item, 'institution' | 'error' | 'transactions'> & {
  institution: string
  error: ErrorState | null
  transactions: LogState | null
}

/** Everything worth keeping of these tenants, as plain JSON. */
export async function serializeTenants(tenants: ReadonlyMap<string, Tenant>): Promise<EmulatorState> {
  const state: EmulatorState = { version: STATE_VERSION, tenants: {} }
  for (const [clientId, t] of tenants) {
    state.tenants[clientId] = {
      items: [...t.items.values()].map(itemState),
      accessTokens: [...t.accessTokens],
      publicTokens: [...t.publicTokens],
      linkTokens: [...t.linkTokens],
      webhookKeys: await t.webhookKeys.export(),
    }
  }
  return state
}

/** Tenants as they were when `state` was taken; throws if it does not describe a state this code can rebuild. */
export async function restoreTenants(state: EmulatorState, now?: () => number): Promise<Map<string, Tenant>> {
  const tenants = new Map<string, Tenant>()
  for (const [clientId, saved] of Object.entries(state.tenants)) {
    const t = new Tenant(now)
    for (const item of saved.items) t.items.set(item.id, restoreItem(item))
    for (const [token, itemId] of saved.accessTokens) t.accessTokens.set(token, itemId)
    for (const [token, entry] of saved.publicTokens) t.publicTokens.set(token, entry)
    for (const [token, entry] of saved.linkTokens) t.linkTokens.set(token, entry)
    await t.webhookKeys.import(saved.webhookKeys)
    tenants.set(clientId, t)
  }
  return tenants
}

/** The state a file holds, or why it cannot be used. */
export function parseState(text: string): EmulatorState | { problem: string } {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return { problem: 'it is not JSON' }
  }
  const version = (data as { version?: unknown } | null)?.version
  if (version !== STATE_VERSION) return { problem: `it is version ${String(version)}, not ${STATE_VERSION}` }
  const tenants = (data as { tenants?: unknown }).tenants
  if (typeof tenants !== 'object' || tenants === null) return { problem: 'it has no tenants' }
  return data as EmulatorState
}

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

function itemState(item: Item): ItemState {
  const { institution, error, transactions, ...plain } = item
  return {
    ...plain,
    institution: institution.id,
    error: error && {
      status: error.error.status,
      errorType: error.error.errorType,
      errorCode: error.error.errorCode,
      message: error.error.message,
      displayMessage: error.error.displayMessage,
      since: error.since,
    },
    transactions: transactions && {
      origin: transactions.origin,
      changes: transactions.changes,
      events: transactions.events.length,
      lastTransactionId: transactions.events.at(-1)?.transaction.transaction_id ?? null,
    },
  }
}

function restoreItem(saved: ItemState): Item {
  const { institution: institutionId, error, transactions, ...plain } = saved
  const institution = INSTITUTIONS.get(institutionId)
  if (!institution) throw new Error(`item ${saved.id} is at an unknown institution ${institutionId}`)
  return {
    ...plain,
    // Files written before these fields existed.
    clientUserId: plain.clientUserId ?? null,
    balanceCalls: plain.balanceCalls ?? [],
    institution,
    error: error && {
      error: new EmulatedPlaidError(
        error.status,
        error.errorType,
        error.errorCode,
        error.message,
        error.displayMessage,
      ),
      since: error.since,
    },
    transactions: transactions && restoreLog(saved.id, transactions),
  }
}

function restoreLog(itemId: string, saved: LogState): TransactionLog {
  const { itemId: seed, accounts, createdAt, historyDays } = saved.origin
  const log = new TransactionLog(seed, accounts, createdAt, historyDays)
  for (const { now, ...counts } of saved.changes) log.change(counts, now)
  const last = log.events.at(-1)?.transaction.transaction_id ?? null
  if (log.events.length !== saved.events || last !== saved.lastTransactionId) {
    throw new Error(`the transactions of item ${itemId} come out differently from how they were saved`)
  }
  return log
}
