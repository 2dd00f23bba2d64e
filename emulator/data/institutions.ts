/**
 * Plaid's Sandbox institutions the emulator knows (a small part of Plaid's catalog), and the
 * accounts Plaid Sandbox gives an Item linked with user_good / pass_good.
 */
import type { Account, Balances, Institution } from '../model'

// Plaid's Sandbox banks all support the common products; `balance` is listed because Plaid shows
// it in `available_products` (it is billed per call, so it never becomes a billed product).
const SANDBOX_PRODUCTS = [
  'assets',
  'auth',
  'balance',
  'identity',
  'identity_match',
  'income_verification',
  'investments',
  'liabilities',
  'signal',
  'statements',
  'transactions',
  'transfer',
]

export const INSTITUTIONS: ReadonlyMap<string, Institution> = new Map(
  [
    { id: 'ins_109508', name: 'First Platypus Bank' },
    { id: 'ins_109509', name: 'First Gingham Credit Union' },
    { id: 'ins_109510', name: 'Tattersall Federal Credit Union' },
    { id: 'ins_109511', name: 'Tartan Bank' },
    { id: 'ins_109512', name: 'Houndstooth Bank' },
    // "The OAuth Sandbox institution", as Plaid's spec calls it.
    { id: 'ins_127287', name: 'Platypus OAuth Bank', oauth: true },
    // Chase has the same id in Sandbox and Production (the spec's persistent_account_id names it).
    { id: 'ins_56', name: 'Chase', oauth: true, invalidatesOlderItems: true },
  ].map((i) => [i.id, { oauth: false, invalidatesOlderItems: false, ...i, products: SANDBOX_PRODUCTS }]),
)

/** The accounts Plaid Sandbox gives an Item linked with user_good / pass_good, with ids from `newId`. */
export function sandboxAccounts(newId: () => string): Account[] {
  const usd = (available: number | null, current: number, limit: number | null = null): Balances => ({
    available,
    current,
    limit,
    isoCurrencyCode: 'USD',
  })
  return [
    {
      id: newId(),
      name: 'Plaid Checking',
      officialName: 'Plaid Gold Standard 0% Interest Checking',
      mask: '0000',
      type: 'depository',
      subtype: 'checking',
      balances: usd(100, 110),
    },
    {
      id: newId(),
      name: 'Plaid Saving',
      officialName: 'Plaid Silver Standard 0.1% Interest Saving',
      mask: '1111',
      type: 'depository',
      subtype: 'savings',
      balances: usd(200, 210),
    },
    {
      id: newId(),
      name: 'Plaid CD',
      officialName: 'Plaid Bronze Standard 0.2% Interest CD',
      mask: '2222',
      type: 'depository',
      subtype: 'cd',
      balances: usd(null, 1000),
    },
    {
      id: newId(),
      name: 'Plaid Credit Card',
      officialName: 'Plaid Diamond 12.5% APR Interest Credit Card',
      mask: '3333',
      type: 'credit',
      subtype: 'credit card',
      balances: usd(null, 410, 2000),
    },
  ]
}
