import { beforeAll, describe, expect, it } from 'vitest'
import { api } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { itemIdOf, linkItem, newUser, type User } from '../helpers/linking'
import { type ListedTransaction, listAll } from '../helpers/transactions'

/** The fields the API lists for a transaction: its Item and Plaid's, by Plaid's names. */
const KEPT = [
  'transaction_id',
  'item_id',
  'account_id',
  'amount',
  'iso_currency_code',
  'unofficial_currency_code',
  'date',
  'datetime',
  'authorized_date',
  'authorized_datetime',
  'name',
  'merchant_name',
  'merchant_entity_id',
  'logo_url',
  'website',
  'counterparties',
  'location',
  'pending',
  'pending_transaction_id',
  'payment_channel',
  'personal_finance_category',
  'personal_finance_category_icon_url',
]

describe('GET /api/v1/banking/transactions', () => {
  let env: TestEnv
  let user: User
  let items: string[]
  let all: ListedTransaction[]

  beforeAll(async () => {
    env = testEnv()
    user = await newUser()
    items = [itemIdOf(await linkItem(env, user, 'ins_109508')), itemIdOf(await linkItem(env, user, 'ins_109509'))]
    for (const itemId of items) {
      await emulator.changeTransactions(env, itemId, { add: 40 })
      const synced = await api.sync(env, user.token, itemId)
      // The first sync (queued by the exchange) brought the history; this one brings the 40 new ones.
      expect(synced.status, synced.text).toBe(200)
      expect(synced.body).toEqual({ status: 'synced', added: 40, modified: 0, removed: 0 })
    }
    all = await listAll(env, user)
    const live = await Promise.all(items.map((itemId) => emulator.liveTransactions(env, itemId)))
    expect(all.length).toBe(live.flat().length)
    expect(all.length).toBeGreaterThan(80)
  })

  it('lists newest first, 100 per page by default, with next_cursor until the last page', async () => {
    expect(all.length).toBeGreaterThan(100)
    const first = await api.transactions(env, user.token)
    expect(first.status).toBe(200)
    expect((first.body.transactions as unknown[]).length).toBe(100)
    expect(typeof first.body.next_cursor).toBe('string')
    // Byte order, as SQLite compares text; ids mix upper and lower case.
    const desc = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0)
    const sorted = [...all].sort((a, b) => desc(a.date, b.date) || desc(a.transaction_id, b.transaction_id))
    expect(all).toEqual(sorted)
  })

  it.each(['_=1&limit=5', 'limit=5&_=1700000000&sort=asc'])(
    'ignores query parameters it does not know (%s), such as the cache-busters HTTP clients add',
    async (query) => {
      const res = await api.transactions(env, user.token, { query })
      expect(res.status).toBe(200)
      // limit still applies: the first five, newest first, and a cursor to the rest.
      expect(res.body.transactions).toEqual(all.slice(0, 5))
      expect(typeof res.body.next_cursor).toBe('string')
    },
  )

  it('returns each transaction with everything Plaid enriched it with, as Plaid sent it', async () => {
    const plaid = new Map<string, Record<string, unknown>>()
    for (const itemId of items) {
      for (const t of await emulator.liveTransactions(env, itemId))
        plaid.set(t.transaction_id, { ...t, item_id: itemId })
    }
    const listed = await listAll(env, user)
    expect(listed.length).toBe(plaid.size)
    for (const t of listed) {
      const sent = plaid.get(t.transaction_id) as Record<string, unknown>
      const category = sent.personal_finance_category as { primary: string; detailed: string }
      expect(t).toEqual({
        ...Object.fromEntries(KEPT.map((field) => [field, sent[field]])),
        // The pair under the name the API has always given it, beside Plaid's object.
        category: { primary: category.primary, detailed: category.detailed },
      })
    }
    // The comparison covered the fields' interesting values, not only nulls.
    const some = (test: (t: Record<string, unknown>) => boolean) => expect(listed.some(test)).toBe(true)
    some((t) => (t.counterparties as unknown[]).length === 2)
    some((t) => typeof (t.location as { address: unknown }).address === 'string')
    some((t) => typeof t.datetime === 'string' && typeof t.authorized_datetime === 'string')
    some((t) => typeof t.logo_url === 'string' && typeof t.merchant_entity_id === 'string')
    some((t) => (t.personal_finance_category as { confidence_level: string }).confidence_level === 'HIGH')
  })

  it('pages without gaps or repeats, ending with next_cursor null', async () => {
    const pages: ListedTransaction[] = []
    let cursor: string | null = null
    let last: Record<string, unknown> = {}
    do {
      const res = await api.transactions(env, user.token, { query: `limit=7${cursor ? `&cursor=${cursor}` : ''}` })
      last = res.body
      pages.push(...(res.body.transactions as ListedTransaction[]))
      cursor = res.body.next_cursor as string | null
    } while (cursor)
    expect(last.next_cursor).toBeNull()
    expect(pages).toEqual(all)
  })

  it('answers next_cursor null when a page ends exactly at the last transaction', async () => {
    const accountId = all[0]?.account_id as string
    const ofAccount = all.filter((t) => t.account_id === accountId)
    expect(ofAccount.length).toBeLessThanOrEqual(500)
    const res = await api.transactions(env, user.token, { query: { account_id: accountId, limit: ofAccount.length } })
    expect(res.body).toEqual({ transactions: ofAccount, next_cursor: null })
  })

  it('filters by item_id, account_id and dates', async () => {
    const [itemA] = items as [string]
    const byItem = await listAll(env, user, `item_id=${itemA}`)
    expect(byItem.length).toBeGreaterThan(0)
    expect(byItem).toEqual(all.filter((t) => t.item_id === itemA))

    const accountId = (all[0] as ListedTransaction).account_id
    expect(await listAll(env, user, `account_id=${accountId}`)).toEqual(all.filter((t) => t.account_id === accountId))

    const dates = [...new Set(all.map((t) => t.date))].sort()
    const start = dates[Math.floor(dates.length / 4)] as string
    const end = dates[Math.floor((dates.length * 3) / 4)] as string
    expect(await listAll(env, user, `start_date=${start}&end_date=${end}`)).toEqual(
      all.filter((t) => t.date >= start && t.date <= end),
    )
  })

  it('accepts 29 February of a leap year', async () => {
    const res = await api.transactions(env, user.token, { query: { start_date: '2024-02-29', end_date: '2024-02-29' } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ transactions: all.filter((t) => t.date === '2024-02-29'), next_cursor: null })
  })

  it("shows another user nothing of this user's transactions", async () => {
    const other = await newUser()
    expect(await listAll(env, other)).toEqual([])
    const res = await api.transactions(env, other.token, { query: { item_id: items[0] as string } })
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ detail: 'item not found' })
  })

  it.each([
    ['limit=0', /limit must be a whole number from 1 to 500/],
    ['limit=501', /limit must be a whole number from 1 to 500/],
    ['limit=ten', /limit must be a whole number from 1 to 500/],
    ['start_date=2024-13-01', /start_date must be a date/],
    ['start_date=2024-02-31', /^invalid query: start_date: start_date is not a day of the calendar$/],
    ['end_date=2023-02-29', /^invalid query: end_date: end_date is not a day of the calendar$/],
    [
      'start_date=2024-04-31&end_date=2024-05-01',
      /^invalid query: start_date: start_date is not a day of the calendar$/,
    ],
    ['start_date=2024-02-01&end_date=2024-01-01', /start_date is after end_date/],
    ['cursor=not-a-cursor', /cursor is not one this API gave out/],
    // base64url of [1,2]: a JSON array, but not the (date, transaction_id) of a cursor.
    ['cursor=WzEsMl0', /cursor is not one this API gave out/],
    // A cache-buster beside them changes nothing: known parameters are still checked.
    ['_=1&limit=0', /^invalid query: limit: limit must be a whole number from 1 to 500$/],
    ['_=1700000000&start_date=2024-02-31', /^invalid query: start_date: start_date is not a day of the calendar$/],
  ])('answers 422 for %s', async (query, detail) => {
    const res = await api.transactions(env, user.token, { query })
    expect(res.status).toBe(422)
    expect(res.body.detail).toMatch(detail)
  })
})
