import type { User } from './linking'
import { call, type TestEnv } from './worker'

export type ListedTransaction = {
  transaction_id: string
  item_id: string
  account_id: string
  amount: number
  date: string
}

/** Every transaction the API lists for the user, following next_cursor to the end. */
export async function listAll(env: TestEnv, user: User, query = '', limit = 500): Promise<ListedTransaction[]> {
  const all: ListedTransaction[] = []
  let cursor: string | null = null
  do {
    const params = new URLSearchParams(query)
    params.set('limit', String(limit))
    if (cursor) params.set('cursor', cursor)
    const res = await call(env, 'GET', `/api/v1/banking/transactions?${params}`, { token: user.token })
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
