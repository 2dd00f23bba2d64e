/** The truth at Plaid (the emulator), settling, and the checks (a) to (c) through the API (docs/loadtest.md). */
import type { AccountBase, PlaidTransaction } from '../../src/plaid/types'
import { mapLimit } from '../lib/concurrency'
import { fmt } from '../lib/markdown'
import { emulatorControlOk, plaidCall } from '../lib/plaid'
import { sleep } from '../lib/process'
import { progress, SETTLE_TIMEOUT_MS, VERIFY_CONCURRENCY } from './options'
import { call, type Phase, problem, type Run, type User } from './run'

export type EmulatorItem = {
  item_id: string
  institution_id: string
  access_token: string | null
  removed: boolean
  account_ids: string[]
}
// The API's answers, as src/store/items.ts `Account` and src/store/transactions.ts `Transaction` type
// them; those modules also hold SqlStorage code, which Node's types cannot check, hence restated.
type ApiAccount = AccountBase & { item_id: string }
type Transaction = Omit<PlaidTransaction, 'personal_finance_category'> & {
  item_id: string
  category: { primary: string; detailed: string } | null
}

/** Plaid's truth after the flows: Items (live = exchanged and not removed) and their live transactions. */
/** Whether `a` and `b` hold the same value in each of `keys`. */
const sameFields = <T>(a: T, b: T, keys: readonly (keyof T)[]) => keys.every((key) => a[key] === b[key])
export type Truth = {
  items: EmulatorItem[]
  live: Map<string, EmulatorItem>
  transactions: Map<string, PlaidTransaction[]>
}

export async function readTruth(run: Run): Promise<Truth> {
  const { items } = await emulatorControlOk<{ items: EmulatorItem[] }>(run.stack, 'GET', '/items')
  const live = new Map(items.filter((i) => !i.removed && i.access_token !== null).map((i) => [i.item_id, i]))
  const transactions = new Map<string, PlaidTransaction[]>()
  await mapLimit([...live.keys()], VERIFY_CONCURRENCY, async (itemId) => {
    const data = await emulatorControlOk<{ transactions: PlaidTransaction[] }>(
      run.stack,
      'GET',
      `/items/${itemId}/transactions`,
    )
    transactions.set(itemId, data.transactions)
  })
  return { items, live, transactions }
}

/** What a user should see: the live Items the user linked, with their transactions. */
function expectedTransactions(
  run: Run,
  truth: Truth,
  user: User,
): Map<string, { itemId: string; t: PlaidTransaction }> {
  const expected = new Map<string, { itemId: string; t: PlaidTransaction }>()
  for (const [itemId, item] of truth.live) {
    if (run.owners.get(item.item_id) !== user.id) continue
    for (const t of truth.transactions.get(itemId) ?? []) expected.set(t.transaction_id, { itemId, t })
  }
  return expected
}

async function listAllTransactions(
  run: Run,
  user: User,
  phase: Phase,
): Promise<{ ok: true; list: Transaction[] } | { ok: false; error: string }> {
  const list: Transaction[] = []
  let cursor: string | null = null
  for (let page = 0; page < 1000; page++) {
    const query = new URLSearchParams({ limit: '500', ...(cursor ? { cursor } : {}) })
    const res = await call(run, user, 'GET', `/transactions?${query}`, 'GET /transactions', phase)
    if (res.status !== 200) return { ok: false, error: `${res.status} ${res.text.slice(0, 200)}` }
    list.push(...(res.body.transactions as Transaction[]))
    cursor = res.body.next_cursor as string | null
    if (!cursor) return { ok: true, list }
  }
  return { ok: false, error: 'more than 1000 pages' }
}

type TransactionDiff = { missing: string[]; extra: string[]; duplicated: string[]; different: string[] }

function compareTransactions(
  listed: Transaction[],
  expected: Map<string, { itemId: string; t: PlaidTransaction }>,
): TransactionDiff {
  const seen = new Set<string>()
  const diff: TransactionDiff = { missing: [], extra: [], duplicated: [], different: [] }
  for (const a of listed) {
    if (seen.has(a.transaction_id)) diff.duplicated.push(a.transaction_id)
    seen.add(a.transaction_id)
    const e = expected.get(a.transaction_id)
    if (!e) {
      diff.extra.push(a.transaction_id)
      continue
    }
    const { t } = e
    const category = t.personal_finance_category
    const same =
      a.item_id === e.itemId &&
      a.account_id === t.account_id &&
      a.amount === t.amount &&
      a.date === t.date &&
      a.authorized_date === t.authorized_date &&
      a.name === t.name &&
      a.merchant_name === t.merchant_name &&
      a.pending === t.pending &&
      a.pending_transaction_id === t.pending_transaction_id &&
      a.payment_channel === t.payment_channel &&
      a.iso_currency_code === t.iso_currency_code &&
      a.unofficial_currency_code === t.unofficial_currency_code &&
      a.category?.primary === category?.primary &&
      a.category?.detailed === category?.detailed
    if (!same) diff.different.push(a.transaction_id)
  }
  for (const id of expected.keys()) if (!seen.has(id)) diff.missing.push(id)
  return diff
}

const clean = (d: TransactionDiff) => d.missing.length + d.extra.length + d.duplicated.length + d.different.length === 0

/** Polls until every user's transactions equal Plaid's and the queue has been quiet for a while. */
export async function settle(
  run: Run,
  users: User[],
  truth: Truth,
): Promise<{ ms: number; settled: boolean; rounds: number; pending: User[] }> {
  const started = Date.now()
  const deadline = started + SETTLE_TIMEOUT_MS
  let pending = users
  let rounds = 0
  while (Date.now() < deadline) {
    rounds++
    const results = await mapLimit(pending, VERIFY_CONCURRENCY, async (user) => {
      const listed = await listAllTransactions(run, user, 'settle')
      return listed.ok && clean(compareTransactions(listed.list, expectedTransactions(run, truth, user)))
    })
    pending = pending.filter((_, i) => !results[i])
    const quietFor = Date.now() - run.workerLog.lastQueueActivity
    progress(
      `settle round ${rounds}: ${users.length - pending.length}/${users.length} users match Plaid; queue quiet for ${fmt(quietFor / 1000, 1)} s`,
    )
    // Matching is not enough: a late webhook sync could still change (or break) a matching list.
    if (pending.length === 0 && quietFor >= 5000) return { ms: Date.now() - started, settled: true, rounds, pending }
    await sleep(2000)
  }
  return { ms: Date.now() - started, settled: false, rounds, pending }
}

export async function verifyThroughApi(run: Run, users: User[], truth: Truth): Promise<void> {
  const emulatorItem = new Map(truth.items.map((i) => [i.item_id, i]))

  // (a) Items
  let failures = 0
  /** Counts a failure of the current check and reports it as a fatal problem. */
  const fail = (kind: string, message: string) => {
    failures++
    problem(run, kind, true, message)
  }
  const listedBy = new Map<string, string[]>()
  await mapLimit(users, VERIFY_CONCURRENCY, async (user) => {
    const res = await call(run, user, 'GET', '/items', 'GET /items', 'verify')
    if (res.status !== 200) {
      fail('verification', `${user.id}: GET /items answered ${res.status} ${res.text.slice(0, 200)}`)
      return
    }
    const ids = (res.body.items as { item_id: string }[]).map((i) => i.item_id)
    listedBy.set(user.id, ids)
    for (const id of new Set(ids)) {
      const times = ids.filter((x) => x === id).length
      if (times > 1) fail('duplicate row', `${user.id}: GET /items lists ${id} ${times} times`)
      const owner = run.owners.get(id)
      if (owner !== user.id)
        fail(
          'cross-user leak',
          `${user.id}: GET /items lists ${id}, ${owner ? `which ${owner} linked` : 'which no exchange answered to this user'}`,
        )
      const item = emulatorItem.get(id)
      if (!item || item.removed)
        fail(
          'stale row',
          `${user.id}: GET /items lists ${id}, which is ${item ? 'removed at Plaid' : 'unknown to Plaid'}`,
        )
    }
    for (const id of user.removed) {
      if (ids.includes(id)) fail('resurrected', `${user.id}: GET /items still lists ${id}, removed with 204`)
    }
  })
  let orphans = 0
  for (const item of truth.live.values()) {
    const owner = run.owners.get(item.item_id)
    if (owner === undefined) {
      orphans++
      // The API removes an Item it could not finish linking; when that removal fails too it logs
      // the orphan for an operator (documented). Anything else is an Item nobody can see.
      const logged = run.workerLog.orphaned.has(item.item_id)
      if (!logged) failures++
      problem(
        run,
        logged ? 'orphaned at Plaid (logged by the API)' : 'lost row',
        !logged,
        `${item.item_id} (${item.institution_id}) is live at Plaid but no user's exchange answered it${logged ? '; the API logged it as orphaned' : ''}`,
      )
      continue
    }
    const times = (listedBy.get(owner) ?? []).filter((id) => id === item.item_id).length
    if (times !== 1)
      fail('lost row', `${owner}: GET /items lists live Item ${item.item_id} ${times} times (expected once)`)
  }
  for (const user of users) {
    for (const id of user.items) {
      if (!truth.live.has(id))
        fail('lost row', `${user.id}: Item ${id} was linked (and not removed by the user) but Plaid says it is gone`)
    }
    for (const id of user.removed) {
      if (!emulatorItem.get(id)?.removed)
        fail('stale row', `${user.id}: Item ${id} was removed (204) but is still live at Plaid`)
    }
  }
  const ownedLive = [...truth.live.values()].filter((i) => run.owners.has(i.item_id)).length
  run.checks.push({
    name: '(a) Items: each live Plaid Item listed exactly once, by its owner only; removed Items gone',
    compared: `${truth.live.size} live Items (${ownedLive} linked by users, ${orphans} orphaned), ${users.reduce((n, u) => n + u.removed.length, 0)} removed, ${users.length} users' lists`,
    failures,
  })

  // (b) Accounts, against Plaid's /accounts/get (chaos is off by now).
  failures = 0
  const plaidAccounts = new Map<string, ApiAccount>()
  await mapLimit([...truth.live.values()], VERIFY_CONCURRENCY, async (item) => {
    const data = await plaidCall(run.stack, '/accounts/get', { access_token: item.access_token })
    for (const a of data.accounts as AccountBase[]) plaidAccounts.set(a.account_id, { ...a, item_id: item.item_id })
  })
  let accountsCompared = 0
  await mapLimit(users, VERIFY_CONCURRENCY, async (user) => {
    const res = await call(run, user, 'GET', '/accounts', 'GET /accounts', 'verify')
    if (res.status !== 200) {
      fail('verification', `${user.id}: GET /accounts answered ${res.status} ${res.text.slice(0, 200)}`)
      return
    }
    const listed = res.body.accounts as ApiAccount[]
    const expected = [...plaidAccounts.values()].filter((a) => run.owners.get(a.item_id) === user.id)
    const seen = new Set<string>()
    for (const a of listed) {
      accountsCompared++
      if (seen.has(a.account_id)) fail('duplicate row', `${user.id}: account ${a.account_id} listed twice`)
      seen.add(a.account_id)
      const p = plaidAccounts.get(a.account_id)
      if (!p || run.owners.get(p.item_id) !== user.id) {
        fail(
          p ? 'cross-user leak' : 'stale row',
          `${user.id}: account ${a.account_id} (Item ${a.item_id}) is ${p ? `${run.owners.get(p.item_id)}'s` : 'not a live account at Plaid'}`,
        )
        continue
      }
      const same =
        sameFields(a, p, ['item_id', 'name', 'official_name', 'mask', 'type', 'subtype']) &&
        sameFields(a.balances, p.balances, ['available', 'current', 'limit', 'iso_currency_code'])
      if (!same)
        fail(
          'stale row',
          `${user.id}: account ${a.account_id} differs: API ${JSON.stringify(a)} vs Plaid ${JSON.stringify(p)}`,
        )
    }
    for (const p of expected) {
      if (!seen.has(p.account_id))
        fail('lost row', `${user.id}: account ${p.account_id} of Item ${p.item_id} is missing from GET /accounts`)
    }
  })
  run.checks.push({
    name: "(b) Accounts: GET /accounts equals Plaid /accounts/get for the user's live Items (ids, Item, names, mask, type, balances)",
    compared: `${accountsCompared} accounts listed, ${[...plaidAccounts.values()].filter((a) => run.owners.has(a.item_id)).length} at Plaid for linked Items`,
    failures,
  })

  // (c) Transactions, all pages.
  failures = 0
  let compared = 0
  let expectedTotal = 0
  await mapLimit(users, VERIFY_CONCURRENCY, async (user) => {
    const listed = await listAllTransactions(run, user, 'verify')
    if (!listed.ok) {
      fail('verification', `${user.id}: GET /transactions failed: ${listed.error}`)
      return
    }
    const expected = expectedTransactions(run, truth, user)
    compared += listed.list.length
    expectedTotal += expected.size
    const diff = compareTransactions(listed.list, expected)
    const report = (kind: string, ids: string[], what: string) => {
      if (ids.length === 0) return
      failures += ids.length
      problem(run, kind, true, `${user.id}: ${ids.length} transaction(s) ${what}, e.g. ${ids.slice(0, 3).join(', ')}`)
    }
    report('lost row', diff.missing, 'live at Plaid but not listed')
    report('duplicate row', diff.duplicated, 'listed more than once')
    report('resurrected', diff.extra, 'listed but not live at Plaid (removed there, or of a removed Item)')
    report('stale row', diff.different, "listed with other values than Plaid's latest")
  })
  run.checks.push({
    name: "(c) Transactions: each user's GET /transactions (all pages) equals Plaid's live transactions of their Items",
    compared: `${compared} listed, ${expectedTotal} live at Plaid`,
    failures,
  })

  // Another user's Item, by id: 404, exactly like a missing one.
  failures = 0
  const withItems = users.filter((u) => u.items.length > 0)
  const probes = Math.min(50, users.length)
  for (let i = 0; i < probes && withItems.length > 1; i++) {
    const user = users[i] as User
    const other = withItems[(i * 7 + 1) % withItems.length] as User
    if (other.id === user.id) continue
    const itemId = other.items[0] as string
    const item = await call(run, user, 'GET', `/items/${itemId}`, 'GET /items/:item_id', 'verify')
    const accounts = await call(run, user, 'GET', `/accounts?item_id=${itemId}`, 'GET /accounts?item_id', 'verify')
    const txs = await call(run, user, 'GET', `/transactions?item_id=${itemId}`, 'GET /transactions?item_id', 'verify')
    const missing = JSON.stringify({ detail: 'item not found' })
    const leaked = [item, accounts, txs].some((res) => res.status !== 404 || JSON.stringify(res.body) !== missing)
    if (leaked)
      fail(
        'cross-user leak',
        `${user.id} asking for ${other.id}'s Item ${itemId}: GET item ${item.status}, accounts ${accounts.status}, transactions ${txs.status} ${txs.text.slice(0, 120)}`,
      )
  }
  run.checks.push({
    name: "Another user's Item by id: GET /items/:id, /accounts?item_id= and /transactions?item_id= answer 404, exactly as for a missing Item",
    compared: `${probes} probes`,
    failures,
  })
}
