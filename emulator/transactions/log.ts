/**
 * An Item's transactions as Plaid's `/transactions/sync` sees them: an append-only log of change
 * events (added / modified / removed) and pages that reduce a run of events to their net effect
 * per transaction. Everything is generated from a PRNG seeded with the item_id, so an Item's
 * history looks the same in every run.
 */
import { TEMPLATES } from '../data/merchants'
import { seededId, seededRandom } from '../ids'
import { cents, DAY_MS, day, newTransaction, withTimes } from './generate'
import type {
  AccountKind,
  ChangeEvent,
  ChangeKind,
  LogAccount,
  LogChange,
  LogOrigin,
  Page,
  Template,
  TransactionJson,
} from './types'

/** Transactions per day of history: 24 over the 30 days an Item starts with. */
const PER_DAY = 0.8
/** The history a new Item starts with when `days_requested` does not say otherwise. */
export const DEFAULT_HISTORY_DAYS = 30

/**
 * One Item's transactions: the change log `/transactions/sync` pages through and the live set a
 * correct client ends up holding. Only ever appended to, so every cursor stays valid.
 */
export class TransactionLog {
  readonly events: ChangeEvent[] = []
  /** transaction_id → current version, in the order the transactions were added. */
  readonly live = new Map<string, TransactionJson>()
  /** Accounts that have had transactions (the sync response lists only those). */
  readonly accountIds = new Set<string>()
  private readonly random: () => number
  private readonly ids = new Set<string>()
  /** The templates this Item has an account for, with those accounts, and their total weight. */
  private readonly templates: Template[]
  private readonly candidates = new Map<Template, string[]>()
  private readonly totalWeight: number

  /**
   * What the log was made from and every change appended since: the log is a pure function of
   * these (see emulator/snapshot.ts, which saves them rather than the generated transactions).
   */
  readonly origin: LogOrigin
  readonly changes: LogChange[] = []

  constructor(itemId: string, accounts: readonly LogAccount[], createdAt: number, historyDays = DEFAULT_HISTORY_DAYS) {
    this.origin = {
      itemId,
      accounts: accounts.map(({ id, type, subtype }) => ({ id, type, subtype })),
      createdAt,
      historyDays,
    }
    this.random = seededRandom(itemId)
    // Transactions go to checking, savings and credit accounts; a CD or loan has none.
    const byKind = new Map<AccountKind, string[]>([
      ['card', accounts.filter((a) => a.type === 'credit').map((a) => a.id)],
      ['checking', accounts.filter((a) => a.subtype === 'checking').map((a) => a.id)],
      ['savings', accounts.filter((a) => a.subtype === 'savings').map((a) => a.id)],
    ])
    for (const t of TEMPLATES) {
      const ids = t.accounts.flatMap((kind) => byKind.get(kind) ?? [])
      if (ids.length > 0) this.candidates.set(t, ids)
    }
    this.templates = [...this.candidates.keys()]
    this.totalWeight = this.templates.reduce((sum, t) => sum + t.weight, 0)
    // The initial pull: oldest first, as Plaid returns history ("starting with the first-added").
    const count = this.templates.length === 0 ? 0 : Math.max(1, Math.round(historyDays * PER_DAY))
    const offsets = Array.from({ length: count }, () => Math.floor(this.random() * historyDays)).sort((a, b) => b - a)
    for (const offset of offsets) this.append('added', this.generate(createdAt - offset * DAY_MS, offset))
  }

  /**
   * Appends `add` new transactions, then `modify` modifications and `remove` removals of
   * transactions chosen with the seeded PRNG, then posts `post` pending transactions. Modifications
   * and removals pick among the transactions that existed before this call, other than those being
   * posted, and removals avoid the ones just modified, so a client that syncs afterwards sees
   * exactly `add` added, `modify` modified and `remove` removed (as far as the live set allows:
   * more modifications than transactions repeat some; removals then fall back to the modified and
   * the new ones), plus one removal and one addition per posting. Throws a RangeError when asked to
   * remove more transactions, or post more pending ones, than there are.
   */
  change(
    { add = 0, modify = 0, remove = 0, post = 0 }: { add?: number; modify?: number; remove?: number; post?: number },
    now: number,
  ): void {
    const canAdd = this.templates.length > 0
    const pending = [...this.live.values()].filter((t) => t.pending).map((t) => t.transaction_id)
    if (post > pending.length) throw new RangeError(`only ${pending.length} pending transactions to post`)
    if (remove > this.live.size - post + (canAdd ? add : 0))
      throw new RangeError(`only ${this.live.size - post} transactions to remove`)
    this.changes.push({ add, modify, remove, post, now })
    const toPost = post > 0 ? this.pick(pending, post) : []
    const posting = new Set(toPost)
    const existing = [...this.live.keys()].filter((id) => !posting.has(id))
    const added: string[] = []
    for (let i = 0; canAdd && i < add; i++) {
      // New activity is dated within the last few days.
      const offset = Math.floor(this.random() * 3)
      const transaction = this.generate(now - offset * DAY_MS, offset)
      this.append('added', transaction)
      added.push(transaction.transaction_id)
    }
    const modifiable = existing.length > 0 ? existing : added
    const toModify: string[] = []
    while (toModify.length < modify && modifiable.length > 0) {
      toModify.push(...this.pick(modifiable, modify - toModify.length))
    }
    for (const id of toModify) {
      const current = this.live.get(id) as TransactionJson
      this.append('modified', this.random() < 0.5 ? this.recategorize(current) : this.reprice(current))
    }
    const modified = new Set(toModify)
    const toRemove = this.pick(
      existing.filter((id) => !modified.has(id)),
      remove,
    )
    for (const pool of [[...modified], added]) {
      const chosen = new Set(toRemove)
      const rest = pool.filter((id) => !chosen.has(id))
      if (toRemove.length < remove) toRemove.push(...this.pick(rest, remove - toRemove.length))
    }
    for (const id of toRemove) this.append('removed', this.live.get(id) as TransactionJson)
    for (const id of toPost) {
      const authorization = this.live.get(id) as TransactionJson
      this.append('removed', authorization)
      this.append('added', this.posted(authorization, now))
    }
  }

  /**
   * Up to `count` events from position `from` (only those of `accountId` when given), reduced to
   * one entry per transaction: its latest version, listed as removed if any event removed it,
   * else as added if the page added it, else as modified; ordered by their last change.
   */
  page(from: number, count: number, accountId: string | null): Page {
    const net = new Map<string, { kind: ChangeKind; transaction: TransactionJson }>()
    let position = from
    let taken = 0
    const matches = (e: ChangeEvent) => accountId === null || e.transaction.account_id === accountId
    for (; position < this.events.length && taken < count; position++) {
      const event = this.events[position] as ChangeEvent
      if (!matches(event)) continue
      taken++
      const id = event.transaction.transaction_id
      const seen = net.get(id)
      const kind = event.kind === 'removed' || !seen ? event.kind : seen.kind
      // Re-inserting moves it to the end: the lists are ordered by last modification.
      net.delete(id)
      net.set(id, { kind, transaction: event.transaction })
    }
    // Other accounts' events right after the page need no further call for this stream.
    while (position < this.events.length && !matches(this.events[position] as ChangeEvent)) position++
    const page: Page = { added: [], modified: [], removed: [], next: position, hasMore: position < this.events.length }
    for (const { kind, transaction } of net.values()) page[kind].push(transaction)
    return page
  }

  private append(kind: ChangeKind, transaction: TransactionJson): void {
    this.events.push({ kind, transaction })
    this.accountIds.add(transaction.account_id)
    if (kind === 'removed') this.live.delete(transaction.transaction_id)
    else this.live.set(transaction.transaction_id, transaction)
  }

  /** Up to `count` distinct ids from `ids`, chosen with the seeded PRNG. */
  private pick(ids: readonly string[], count: number): string[] {
    const pool = [...ids]
    const picked: string[] = []
    while (picked.length < count && pool.length > 0) {
      const chosen = Math.floor(this.random() * pool.length)
      picked.push(pool[chosen] as string)
      // Swap-remove: O(1) per pick.
      pool[chosen] = pool[pool.length - 1] as string
      pool.pop()
    }
    return picked
  }

  private recategorize(t: TransactionJson): TransactionJson {
    const confidence = t.personal_finance_category.confidence_level === 'VERY_HIGH' ? 'HIGH' : 'VERY_HIGH'
    return { ...t, personal_finance_category: { ...t.personal_finance_category, confidence_level: confidence } }
  }

  private reprice(t: TransactionJson): TransactionJson {
    // A tip added to a restaurant bill, or a pending authorization settling for a different amount.
    const delta = cents((1 + this.random() * 9) * Math.sign(t.amount || 1))
    return { ...t, amount: cents(t.amount + delta) }
  }

  /**
   * The transaction that settles a pending one, as Plaid reports a settlement: a new transaction
   * (new id, dated the day it posted) whose pending_transaction_id names the pending one, which
   * Plaid removes in the same update.
   */
  private posted(authorization: TransactionJson, now: number): TransactionJson {
    return withTimes({
      ...authorization,
      transaction_id: this.newId(),
      pending: false,
      pending_transaction_id: authorization.transaction_id,
      date: day(now),
      datetime: null,
    })
  }

  private newId(): string {
    let id = seededId(this.random)
    while (this.ids.has(id)) id = seededId(this.random)
    this.ids.add(id)
    return id
  }

  private template(): Template {
    let roll = this.random() * this.totalWeight
    for (const t of this.templates) {
      roll -= t.weight
      if (roll < 0) return t
    }
    return this.templates[0] as Template
  }

  /** A transaction that happened at `when`, `ageDays` days ago. */
  private generate(when: number, ageDays: number): TransactionJson {
    const template = this.template()
    return newTransaction(template, this.accountFor(template), when, ageDays, this.random, () => this.newId())
  }

  private accountFor(template: Template): string {
    // `templates` only holds templates with at least one candidate account.
    const ids = this.candidates.get(template) ?? []
    return ids[Math.floor(this.random() * ids.length)] as string
  }
}
