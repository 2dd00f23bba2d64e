/**
 * An Item's transactions as Plaid's `/transactions/sync` sees them: an append-only log of change
 * events (added / modified / removed), a cursor that is a position in that log, and pages that
 * reduce a run of events to their net effect per transaction. Everything is generated from a PRNG
 * seeded with the item_id, so an Item's history looks the same in every run.
 */
import {
  type AccountKind,
  type Counterparty,
  type Location,
  type PaymentChannel,
  TEMPLATES,
  type Template,
} from './merchants'
import type { Account, Item } from './state'

/** The spec's Transaction as the emulator renders it (`original_description` only on request). */
export type TransactionJson = {
  account_id: string
  account_owner: null
  amount: number
  iso_currency_code: string
  unofficial_currency_code: null
  check_number: null
  counterparties: Counterparty[]
  date: string
  datetime: string | null
  authorized_date: string
  authorized_datetime: string | null
  location: Location
  name: string
  merchant_name: string | null
  merchant_entity_id: string | null
  logo_url: string | null
  website: string | null
  payment_meta: Record<PaymentMetaField, null>
  payment_channel: PaymentChannel
  pending: boolean
  pending_transaction_id: string | null
  personal_finance_category: { primary: string; detailed: string; confidence_level: string; version: 'v1' }
  personal_finance_category_icon_url: string
  transaction_id: string
  transaction_code: null
  transaction_type: 'digital' | 'place' | 'special'
  original_description: string
}

type PaymentMetaField =
  | 'by_order_of'
  | 'payee'
  | 'payer'
  | 'payment_method'
  | 'payment_processor'
  | 'ppd_id'
  | 'reason'
  | 'reference_number'

export type ChangeKind = 'added' | 'modified' | 'removed'
/** One entry of the log; `transaction` is the version the event produced (the last one for removals). */
export type ChangeEvent = { kind: ChangeKind; transaction: TransactionJson }

/** The account fields a log's transactions depend on. */
export type LogAccount = Pick<Account, 'id' | 'type' | 'subtype'>
export type LogOrigin = { itemId: string; accounts: LogAccount[]; createdAt: number; historyDays: number }
/** One call of `change`; `post` is absent from changes saved before postings existed. */
export type LogChange = { add: number; modify: number; remove: number; post?: number; now: number }

/** A page of the log, reduced: each transaction appears once, in the list of its net change. */
export type Page = {
  added: TransactionJson[]
  modified: TransactionJson[]
  removed: TransactionJson[]
  next: number
  hasMore: boolean
}

// ---- Deterministic randomness ----------------------------------------------------------------

/** sfc32 seeded from a string: fast, and good enough to make data look varied. */
function seededRandom(seed: string): () => number {
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  let [a, b, c, d] = [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
  return () => {
    a |= 0
    b |= 0
    c |= 0
    d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** A 37-character base62 id like Plaid's transaction_id and entity ids. */
const randomId = (random: () => number) => {
  let id = ''
  // Five base62 digits per draw (62^5 < 2^32): ids are the bulk of the generation cost.
  while (id.length < 37) {
    let n = Math.floor(random() * 916_132_832)
    for (let i = 0; i < 5 && id.length < 37; i++, n = Math.floor(n / 62)) id += BASE62[n % 62]
  }
  return id
}

// ---- What transactions look like ------------------------------------------------------------

const NO_LOCATION: Location = {
  address: null,
  city: null,
  region: null,
  postal_code: null,
  country: null,
  lat: null,
  lon: null,
  store_number: null,
}

// Shared by every transaction (never mutated): none of them is an inter-bank transfer with details.
const NO_PAYMENT_META: Readonly<Record<PaymentMetaField, null>> = Object.freeze({
  by_order_of: null,
  payee: null,
  payer: null,
  payment_method: null,
  payment_processor: null,
  ppd_id: null,
  reason: null,
  reference_number: null,
})

// Stable per merchant (as Plaid's are), so the same merchant has one entity_id across Items.
const entityId = (name: string) => randomId(seededRandom(name))
const ENTITY_IDS = new Map(TEMPLATES.map((t) => [t.merchant, t.merchant && entityId(t.merchant)]))

const TRANSACTION_TYPE = { online: 'digital', 'in store': 'place', other: 'special' } as const
const DAY_MS = 86_400_000
// Memoized: a log of thousands of transactions spans few days, and Date formatting is the slow part.
const DAYS = new Map<number, string>()
const day = (ms: number) => {
  const index = Math.floor(ms / DAY_MS)
  let text = DAYS.get(index)
  if (text === undefined) {
    text = new Date(index * DAY_MS).toISOString().slice(0, 10)
    DAYS.set(index, text)
  }
  return text
}
const cents = (n: number) => Math.round(n * 100) / 100

/** Transactions per day of history: 24 over the 30 days an Item starts with. */
const PER_DAY = 0.8
/** The history a new Item starts with when `days_requested` does not say otherwise. */
export const DEFAULT_HISTORY_DAYS = 30

// ---- The log ----------------------------------------------------------------------------------

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
   * these (see emulator/persist.ts, which saves them rather than the generated transactions).
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
    let id = randomId(this.random)
    while (this.ids.has(id)) id = randomId(this.random)
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

  /** A transaction that happened at `when`, `ageDays` days ago (recent card purchases are still pending). */
  private generate(when: number, ageDays: number): TransactionJson {
    const template = this.template()
    const accountId = this.accountFor(template)
    const [min, max] = template.amount
    const amount = cents(min + this.random() * (max - min))
    const card = template.channel !== 'other'
    const pending = card && ageDays < 2 && this.random() < 0.6
    // Card purchases post a day or two after they are authorized.
    const authorized = day(when - (card && !pending ? Math.floor(this.random() * 3) * DAY_MS : 0))
    const entityId = ENTITY_IDS.get(template.merchant) ?? null
    const logo = template.merchant && `https://plaid-merchant-logos.plaid.com/${slug(template.merchant)}.png`
    const [primary, detailed] = template.pfc
    return withTimes({
      account_id: accountId,
      account_owner: null,
      amount,
      iso_currency_code: 'USD',
      unofficial_currency_code: null,
      check_number: null,
      counterparties: template.merchant
        ? [
            ...(template.via ? [intermediary(template.via)] : []),
            {
              name: template.merchant,
              type: template.counterpartyType ?? 'merchant',
              logo_url: logo,
              website: template.website ?? null,
              entity_id: entityId,
              confidence_level: 'VERY_HIGH',
            },
          ]
        : [],
      date: day(when),
      datetime: null,
      authorized_date: authorized,
      authorized_datetime: null,
      location: { ...NO_LOCATION, ...(template.channel === 'in store' ? template.location : {}) },
      name: template.name,
      merchant_name: template.merchant,
      merchant_entity_id: entityId,
      logo_url: logo,
      website: template.website ?? null,
      payment_meta: NO_PAYMENT_META,
      payment_channel: template.channel,
      pending,
      // A posted card purchase replaced the pending one Plaid saw first; that one is long gone.
      pending_transaction_id: card && !pending && this.random() < 0.5 ? this.newId() : null,
      personal_finance_category: {
        primary,
        detailed,
        confidence_level: this.random() < 0.8 ? 'VERY_HIGH' : 'HIGH',
        version: 'v1',
      },
      personal_finance_category_icon_url: `https://plaid-category-icons.plaid.com/PFC_${primary}.png`,
      transaction_id: this.newId(),
      transaction_code: null,
      transaction_type: TRANSACTION_TYPE[template.channel],
      original_description: template.original,
    })
  }

  private accountFor(template: Template): string {
    // `templates` only holds templates with at least one candidate account.
    const ids = this.candidates.get(template) ?? []
    return ids[Math.floor(this.random() * ids.length)] as string
  }
}

/** A counterparty the payment went through: a terminal or marketplace Plaid recognizes with less certainty. */
const intermediary = (via: NonNullable<Template['via']>): Counterparty => ({
  name: via.name,
  type: via.type,
  logo_url: `https://plaid-counterparty-logos.plaid.com/${slug(via.name)}.png`,
  website: via.website,
  entity_id: entityId(via.name),
  confidence_level: 'HIGH',
})

/**
 * Plaid's `authorized_datetime` and `datetime` for card and online activity (the bank's own
 * entries, fees and transfers, carry no time, as at most banks). The times of day come from a hash
 * of the transaction id rather than the PRNG, so a saved log replays to the same transactions:
 * authorized in the morning, posted in the afternoon, so the posting never precedes the
 * authorization. A time already set (a posted transaction keeps its pending one's) is kept.
 */
function withTimes(t: TransactionJson): TransactionJson {
  if (t.payment_channel === 'other') return t
  const hash = fnv1a(t.transaction_id)
  return {
    ...t,
    authorized_datetime: t.authorized_datetime ?? `${t.authorized_date}T${clock(hash % 43_200)}Z`,
    datetime: `${t.date}T${clock(43_200 + ((hash >>> 16) % 43_200))}Z`,
  }
}

const clock = (seconds: number) => new Date(seconds * 1000).toISOString().slice(11, 19)

function fnv1a(text: string): number {
  let hash = 2166136261
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619)
  return hash >>> 0
}

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/'/g, '')
    .replace(/[^a-z0-9]+/g, '_')

/**
 * The Item's log, created on first use. Its history spans `days_requested` days when the Item was
 * created with it (or `/transactions/sync` initializes the product with it), else 30 days: a
 * modest history rather than Plaid's default 90, so tests see few transactions unless they ask.
 */
export function transactionLog(item: Item, daysRequested?: number): TransactionLog {
  item.transactions ??= new TransactionLog(
    item.id,
    item.accounts,
    item.createdAt,
    item.transactionsOptions.daysRequested ?? daysRequested ?? DEFAULT_HISTORY_DAYS,
  )
  return item.transactions
}

// ---- Cursors ----------------------------------------------------------------------------------

const CURSOR_VERSION = 'v1'

/** What a cursor names: a position in one Item's log, for one account's stream or all of them. */
export type CursorPosition = { itemId: string; accountId: string | null; index: number }

/** Opaque to clients: base64 (as Plaid's look) of the version, Item, account stream and index. */
export function encodeCursor({ itemId, accountId, index }: CursorPosition): string {
  return Buffer.from(`${CURSOR_VERSION}|${itemId}|${accountId ?? ''}|${index}`).toString('base64')
}

/** The position a cursor names, or undefined when it is not a cursor the emulator issued. */
export function decodeCursor(cursor: string): CursorPosition | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(cursor)) return undefined
  const parts = Buffer.from(cursor, 'base64').toString('utf8').split('|')
  if (parts.length !== 4) return undefined
  const [version, itemId, accountId, index] = parts as [string, string, string, string]
  if (version !== CURSOR_VERSION || !/^[A-Za-z0-9]+$/.test(itemId) || !/^(0|[1-9]\d{0,8})$/.test(index)) {
    return undefined
  }
  return { itemId, accountId: accountId === '' ? null : accountId, index: Number(index) }
}
