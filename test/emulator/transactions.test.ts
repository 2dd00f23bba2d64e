import { describe, expect, it } from 'vitest'
import { EMULATOR_URL, linkedItem, newClientId, plaid } from './plaid'

type Transaction = Record<string, unknown> & {
  transaction_id: string
  account_id: string
  date: string
  authorized_date: string
  pending: boolean
  payment_channel: string
  merchant_name: string | null
  personal_finance_category: { primary: string }
}
type SyncPage = { added: Transaction[]; modified: Transaction[]; removed: { transaction_id: string }[] }

async function control(clientId: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${EMULATOR_URL}/emulator${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'PLAID-CLIENT-ID': clientId },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** Every page from `cursor` to the end, as a client pulls an update; answers them and the last cursor. */
async function syncToEnd(clientId: string, accessToken: string, cursor?: string) {
  const pages: SyncPage[] = []
  for (;;) {
    const answer = await plaid(clientId, '/transactions/sync', {
      access_token: accessToken,
      count: 500,
      ...(cursor && { cursor }),
    })
    expect(answer.status).toBe(200)
    pages.push(answer.body as unknown as SyncPage)
    cursor = answer.body.next_cursor as string
    if (!answer.body.has_more) return { pages, cursor }
  }
}

const live = async (clientId: string, itemId: string) =>
  ((await (await control(clientId, `/items/${itemId}/transactions`)).json()) as { transactions: Transaction[] })
    .transactions

const ENTITY_ID = /^[A-Za-z0-9]{37}$/
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

describe('/transactions/sync renders transactions as Plaid enriches them', () => {
  it('with the merchant, its logo and website, counterparties, location, times and the category in full', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    expect((await control(clientId, `/items/${itemId}/transactions`, { add: 300 })).status).toBe(200)
    const { pages } = await syncToEnd(clientId, accessToken)
    const all = pages.flatMap((p) => p.added)
    expect(all.length).toBeGreaterThan(300)

    for (const t of all) {
      const { primary } = t.personal_finance_category
      expect(t.personal_finance_category).toEqual({
        primary: expect.any(String),
        detailed: expect.stringMatching(new RegExp(`^${primary}_`)),
        confidence_level: expect.stringMatching(/^(VERY_HIGH|HIGH)$/),
        version: 'v1',
      })
      expect(t.personal_finance_category_icon_url).toBe(`https://plaid-category-icons.plaid.com/PFC_${primary}.png`)
      if (t.merchant_name === null) {
        expect(t).toMatchObject({ logo_url: null, website: null, merchant_entity_id: null, counterparties: [] })
      } else {
        expect(t.logo_url).toMatch(/^https:\/\/plaid-merchant-logos\.plaid\.com\/[a-z0-9_]+\.png$/)
        expect(t.merchant_entity_id).toMatch(ENTITY_ID)
        // The merchant is the last counterparty, with the transaction's own logo, website and entity.
        expect((t.counterparties as unknown[]).at(-1)).toEqual({
          name: t.merchant_name,
          type: expect.stringMatching(/^(merchant|income_source)$/),
          logo_url: t.logo_url,
          website: t.website,
          entity_id: t.merchant_entity_id,
          confidence_level: 'VERY_HIGH',
        })
      }
      // Card and online activity carries times (authorized before posted); the bank's own entries none.
      if (t.payment_channel === 'other') {
        expect(t).toMatchObject({ datetime: null, authorized_datetime: null })
      } else {
        expect(t.datetime).toMatch(DATETIME)
        expect(t.authorized_datetime).toMatch(DATETIME)
        expect((t.datetime as string).slice(0, 10)).toBe(t.date)
        expect((t.authorized_datetime as string).slice(0, 10)).toBe(t.authorized_date)
        expect((t.datetime as string) > (t.authorized_datetime as string)).toBe(true)
      }
    }

    const byName = (name: string) => all.find((t) => t.name === name)
    // A store with a full address, as the spec's example shows Walmart's.
    expect(byName('Whole Foods Market')).toMatchObject({
      merchant_name: 'Whole Foods',
      website: 'wholefoodsmarket.com',
      logo_url: 'https://plaid-merchant-logos.plaid.com/whole_foods.png',
      payment_channel: 'in store',
      location: {
        address: '3000 Telegraph Ave',
        city: 'Berkeley',
        region: 'CA',
        postal_code: '94705',
        country: 'US',
        lat: 37.855,
        lon: -122.26,
        store_number: '10155',
      },
    })
    // Paid through a card terminal: two counterparties, the terminal first, as the spec's DoorDash example.
    expect(byName('Thai Basil Restaurant')?.counterparties).toEqual([
      {
        name: 'Square',
        type: 'payment_terminal',
        logo_url: 'https://plaid-counterparty-logos.plaid.com/square.png',
        website: 'squareup.com',
        entity_id: expect.stringMatching(ENTITY_ID),
        confidence_level: 'HIGH',
      },
      {
        name: 'Thai Basil',
        type: 'merchant',
        logo_url: 'https://plaid-merchant-logos.plaid.com/thai_basil.png',
        website: null,
        entity_id: expect.stringMatching(ENTITY_ID),
        confidence_level: 'VERY_HIGH',
      },
    ])
    // Online: no location, every field of it present and null.
    expect(byName('AMZN Mktp US')?.location).toEqual({
      address: null,
      city: null,
      region: null,
      postal_code: null,
      country: null,
      lat: null,
      lon: null,
      store_number: null,
    })
  })

  it('gives a merchant the same entity id on every Item', async () => {
    const clientId = newClientId()
    const entities = new Set<unknown>()
    for (const _ of [1, 2]) {
      const { accessToken, itemId } = await linkedItem(clientId)
      expect((await control(clientId, `/items/${itemId}/transactions`, { add: 200 })).status).toBe(200)
      const { pages } = await syncToEnd(clientId, accessToken)
      const starbucks = pages.flatMap((p) => p.added).filter((t) => t.merchant_name === 'Starbucks')
      expect(starbucks.length).toBeGreaterThan(0)
      for (const t of starbucks) entities.add(t.merchant_entity_id)
    }
    expect(entities.size).toBe(1)
  })
})

describe('a pending transaction that posts', () => {
  /** Adds new activity until some of it is still pending (recent card purchases mostly are). */
  async function withPending(clientId: string, itemId: string): Promise<Transaction[]> {
    for (let round = 0; round < 10; round++) {
      const pending = (await live(clientId, itemId)).filter((t) => t.pending)
      if (pending.length > 0) return pending
      expect((await control(clientId, `/items/${itemId}/transactions`, { add: 10 })).status).toBe(200)
    }
    throw new Error('no pending transaction after 100 new ones')
  }

  it('is removed, and the posted one that names it added, in the same update', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    const pending = await withPending(clientId, itemId)
    const { cursor } = await syncToEnd(clientId, accessToken)

    const posting = await control(clientId, `/items/${itemId}/transactions`, { post: pending.length })
    expect(posting.status).toBe(200)
    const { pages } = await syncToEnd(clientId, accessToken, cursor)
    const added = pages.flatMap((p) => p.added)
    const removed = pages.flatMap((p) => p.removed)
    expect(pages.flatMap((p) => p.modified)).toEqual([])
    expect(removed).toEqual(
      expect.arrayContaining(pending.map((p) => ({ account_id: p.account_id, transaction_id: p.transaction_id }))),
    )
    expect(removed.length).toBe(pending.length)
    expect(added.length).toBe(pending.length)
    const today = new Date().toISOString().slice(0, 10)
    for (const p of pending) {
      const posted = added.find((t) => t.pending_transaction_id === p.transaction_id)
      const { transaction_id, pending: _, pending_transaction_id, date, datetime, ...same } = p
      expect(posted).toMatchObject({ ...same, pending: false, date: today })
      expect(posted?.transaction_id).not.toBe(transaction_id)
      expect(posted?.datetime).toMatch(new RegExp(`^${today}T`))
    }
    // Plaid holds the posted transactions only.
    const held = await live(clientId, itemId)
    expect(held.filter((t) => pending.some((p) => p.transaction_id === t.transaction_id))).toEqual([])
    expect(held.filter((t) => added.some((a) => a.transaction_id === t.transaction_id)).length).toBe(pending.length)
  })

  it('cannot post more transactions than are pending', async () => {
    const clientId = newClientId()
    const { itemId } = await linkedItem(clientId)
    const pending = await withPending(clientId, itemId)
    const refused = await control(clientId, `/items/${itemId}/transactions`, { post: pending.length + 1 })
    expect(refused.status).toBe(409)
    expect(await refused.json()).toEqual({
      error: `the Item has only ${pending.length} pending transactions to post`,
    })
  })
})
