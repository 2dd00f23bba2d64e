/** Check (d): the raw rows of the users' objects and the D1 index, and the local state's files, after wrangler stopped. */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fmt } from '../lib/markdown'
import { d1Query } from '../lib/stack'
import { readUserObjects } from '../lib/user-objects'
import { problem, type RunState } from './run'
import type { Truth } from './verify-api'

/** (d) The raw database and state files, read after `wrangler dev` has stopped. */
export async function verifyDatabase(run: RunState, truth: Truth, persistTo: string): Promise<void> {
  // Each user's rows are in that user's object; D1 holds the index of Items and the token run.owners.
  const objects = readUserObjects(persistTo)
  const items = objects.flatMap((o) => o.items)
  const accounts = objects.flatMap((o) => o.accounts)
  const transactions = objects.flatMap((o) => o.transactions)
  const claims = objects.flatMap((o) => o.claims)
  const [index = [], tokenOwners = []] = await d1Query(
    persistTo,
    'SELECT * FROM item_index; SELECT * FROM public_token_owners;',
  )
  const tokens = truth.items.map((i) => i.access_token).filter((t): t is string => t !== null)

  // No token in clear, in any column of any row...
  let failures = 0
  /** Counts a failure of the current check and reports it as a fatal problem. */
  const fail = (kind: string, message: string) => {
    failures++
    problem(run, kind, true, message)
  }
  const tables = {
    items,
    accounts,
    transactions,
    public_token_exchanges: claims,
    item_index: index,
    public_token_owners: tokenOwners,
  }
  let values = 0
  for (const [name, rows] of Object.entries(tables)) {
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        values++
        const text = String(value)
        if (
          text.includes('access-sandbox-') ||
          text.includes('public-sandbox-') ||
          tokens.some((t) => text.includes(t))
        ) {
          fail('clear-text token', `${name}.${column} holds a token in clear: ${text.slice(0, 40)}...`)
        }
      }
    }
  }
  // ...nor anywhere in the files of the local state (SQLite pages, WAL, Queue storage).
  let files = 0
  let bytes = 0
  const needles = ['access-sandbox-', 'public-sandbox-'].map((s) => Buffer.from(s))
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry)
      if (statSync(path).isDirectory()) walk(path)
      else {
        const content = readFileSync(path)
        files++
        bytes += content.length
        if (needles.some((n) => content.includes(n)) || tokens.some((t) => content.includes(t)))
          fail('clear-text token', `state file ${relative(persistTo, path)} contains an access or public token`)
      }
    }
  }
  walk(persistTo)
  run.checks.push({
    name: "(d) No access or public token in clear: every value in the users' objects (sqlite3) and the D1 index (wrangler d1 execute), and every byte of the local state files",
    compared: `${values} values in ${items.length + accounts.length + transactions.length + claims.length + index.length + tokenOwners.length} rows of ${objects.length} objects and D1; ${files} files, ${fmt(bytes / 1024 / 1024, 1)} MiB; ${tokens.length} access tokens searched`,
    failures,
  })

  // Row counts and ownership against Plaid's truth.
  failures = 0
  const ownedLive = [...truth.live.values()].filter((i) => run.owners.has(i.item_id))
  const expectItems = new Map(ownedLive.map((i) => [i.item_id, run.owners.get(i.item_id)]))
  const expectAccounts = new Map(ownedLive.flatMap((i) => i.account_ids.map((a) => [a, i.item_id] as const)))
  const expectTransactions = new Map(
    ownedLive.flatMap((i) =>
      (truth.transactions.get(i.item_id) ?? []).map((t) => [t.transaction_id, i.item_id] as const),
    ),
  )
  const rowCheck = (
    table: string,
    rows: Record<string, unknown>[],
    idColumn: string,
    expected: Map<string, string | undefined>,
    expectedOf: (row: Record<string, unknown>) => string | undefined,
  ) => {
    const ids = rows.map((r) => String(r[idColumn]))
    const unique = new Set(ids)
    if (unique.size !== ids.length)
      fail('duplicate row', `${table}: ${ids.length - unique.size} duplicated ${idColumn}`)
    const extra = rows.filter((r) => !expected.has(String(r[idColumn])))
    const missing = [...expected.keys()].filter((id) => !unique.has(id))
    const misplaced = rows.filter(
      (r) => expected.has(String(r[idColumn])) && expectedOf(r) !== expected.get(String(r[idColumn])),
    )
    if (extra.length > 0) {
      fail(
        'stale row',
        `${table}: ${extra.length} row(s) not live at Plaid, e.g. ${extra
          .slice(0, 3)
          .map((r) => `${r[idColumn]} (item ${r.item_id}, user ${r.user_id})`)
          .join(', ')}`,
      )
    }
    if (missing.length > 0)
      fail('lost row', `${table}: ${missing.length} row(s) missing, e.g. ${missing.slice(0, 3).join(', ')}`)
    if (misplaced.length > 0)
      fail('cross-user leak', `${table}: ${misplaced.length} row(s) under the wrong Item or user`)
  }
  rowCheck('items', items, 'item_id', expectItems, (r) => String(r.user_id))
  rowCheck('accounts', accounts, 'account_id', expectAccounts, (r) => String(r.item_id))
  rowCheck('transactions', transactions, 'transaction_id', expectTransactions, (r) => String(r.item_id))
  // Every account and transaction row belongs to its Item's user.
  const itemUser = new Map(items.map((r) => [String(r.item_id), String(r.user_id)]))
  const wrongUser = [...accounts, ...transactions].filter((r) => itemUser.get(String(r.item_id)) !== String(r.user_id))
  if (wrongUser.length > 0)
    fail(
      'cross-user leak',
      `${wrongUser.length} account/transaction row(s) whose user_id is not their Item's (or whose Item is gone)`,
    )
  // Every stored Item is in the D1 index under its user with its key id (webhooks and the
  // re-seal find it there); no sync left staged rows behind.
  const indexed = new Map(index.map((r) => [String(r.item_id), r]))
  const unindexed = items.filter((r) => {
    const entry = indexed.get(String(r.item_id))
    return !entry || entry.user_id !== r.user_id || entry.access_token_key_id !== r.access_token_key_id
  })
  if (unindexed.length > 0)
    fail('index', `D1 item_index: ${unindexed.length} stored Item(s) missing or with another user or key id`)
  const staged = objects.reduce((n, o) => n + o.staged, 0)
  if (staged > 0) fail('staging', `${staged} staged sync row(s) left in the objects after every sync finished`)
  const dangling = index.filter((r) => !items.some((i) => i.item_id === r.item_id)).length
  run.checks.push({
    name: "(d) Object rows: items, accounts, transactions in the users' objects equal the live Items, accounts and transactions at Plaid, each in its Item's user's object; every Item in the D1 index with its user and key id; no staging left",
    compared: `items ${items.length}/${expectItems.size}, accounts ${accounts.length}/${expectAccounts.size}, transactions ${transactions.length}/${expectTransactions.size} (objects/Plaid) in ${objects.length} objects; ${claims.length} public-token claims; index ${index.length} rows (${dangling} naming no stored Item)`,
    failures,
  })
}
