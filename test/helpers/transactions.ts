import { expect } from 'vitest'
import { api } from './api'
import { emulator } from './emulator'
import type { TestEnv } from './env'
import type { User } from './linking'

export type ListedTransaction = {
  transaction_id: string
  item_id: string
  account_id: string
  amount: number
  date: string
  /** The other fields of the API's Transaction (src/openapi/responses.ts). */
  [field: string]: unknown
}

/** Every transaction the API lists for the user, following next_cursor to the end. */
export async function listAll(env: TestEnv, user: User, query = '', limit = 500): Promise<ListedTransaction[]> {
  const all: ListedTransaction[] = []
  let cursor: string | null = null
  do {
    const params = new URLSearchParams(query)
    params.set('limit', String(limit))
    if (cursor) params.set('cursor', cursor)
    const res = await api.transactions(env, user.token, { query: params })
    if (res.status !== 200) throw new Error(`listing failed: ${res.status} ${res.text}`)
    all.push(...(res.body.transactions as ListedTransaction[]))
    cursor = res.body.next_cursor as string | null
  } while (cursor)
  return all
}

/** The comparable core of a transaction, so the API's list can be compared with Plaid's. */
export const core = (t: { transaction_id: string; account_id: string; amount: number; date: string }) => ({
  transaction_id: t.transaction_id,
  account_id: t.account_id,
  amount: t.amount,
  date: t.date,
})

export const byId = (a: { transaction_id: string }, b: { transaction_id: string }) =>
  a.transaction_id.localeCompare(b.transaction_id)

/** Asserts the API lists exactly the transactions Plaid holds for the Item, each once; answers the list. */
export async function expectInStep(env: TestEnv, user: User, itemId: string): Promise<ListedTransaction[]> {
  const listed = await listAll(env, user, `item_id=${itemId}`)
  const live = await emulator.liveTransactions(env, itemId)
  expect(new Set(listed.map((t) => t.transaction_id)).size).toBe(listed.length)
  expect(listed.map(core).sort(byId)).toEqual(live.map(core).sort(byId))
  return listed
}
