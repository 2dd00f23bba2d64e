/**
 * The emulator's memory as plain JSON, and back: what is kept is what Plaid would keep, each
 * tenant's Items (accounts, balances, status, transaction history and so every cursor handed
 * out), access, public and link tokens, and webhook signing keys. The control API's tools
 * (faults, call counts, chaos, the test outbox) start afresh.
 *
 * A transaction history is saved as what it was made from plus the changes appended to it, and
 * made again on load (it is generated from a PRNG seeded with the item_id), with a check that
 * the result ends where the saved one did.
 */
import { INSTITUTIONS } from './data/institutions'
import type { Item, LinkToken, PublicToken } from './model'
import { EmulatedPlaidError } from './plaid-error'
import { Tenant } from './state'
import { TransactionLog } from './transactions/log'
import type { LogChange, LogOrigin } from './transactions/types'
import type { ExportedSigningKey } from './webhooks/keys'

/** Bump when the shape of the file, or how a history is generated from it, changes. */
export const STATE_VERSION = 1

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
