/**
 * Plaid Sandbox's custom user: `/sandbox/public_token/create` with `override_username: "user_custom"`
 * and a JSON configuration as `override_password` (Plaid's "Create Sandbox test data" guide). The
 * emulator models the part that shapes an Item's accounts, `override_accounts` with each account's
 * type, subtype, starting balance and `meta` (name, official name, mask), so tests can link two
 * logins at one bank whose accounts differ, as a personal and a business login do.
 */

import type { Account } from './model'
import { invalidField } from './plaid-error'

export const CUSTOM_USERNAME = 'user_custom'
/** Plaid: more than ten accounts on one custom user is not supported. */
const MAX_ACCOUNTS = 10
const TYPES: readonly Account['type'][] = ['depository', 'credit', 'loan', 'investment']
const DEFAULT_SUBTYPE: Record<Account['type'], string> = {
  depository: 'checking',
  credit: 'credit card',
  loan: 'student',
  investment: 'brokerage',
}

const invalidConfig = (why: string) =>
  invalidField(`override_password is not a valid custom Sandbox user configuration: ${why}`)

const textOr = (value: unknown, fallback: string | null, what: string): string | null => {
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'string') throw invalidConfig(`${what} must be a string`)
  return value
}

/** The accounts a custom user's configuration describes, without ids; undefined keeps Plaid's defaults. */
export function customAccounts(password: string): Omit<Account, 'id'>[] | undefined {
  let config: unknown
  try {
    config = JSON.parse(password)
  } catch {
    throw invalidConfig('it is not JSON')
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalidConfig('not an object')
  const overrides = (config as { override_accounts?: unknown }).override_accounts
  if (overrides === undefined) return undefined
  if (!Array.isArray(overrides) || overrides.length === 0 || overrides.length > MAX_ACCOUNTS) {
    throw invalidConfig(`override_accounts must list 1 to ${MAX_ACCOUNTS} accounts`)
  }
  return overrides.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw invalidConfig(`override_accounts[${i}] is not an object`)
    const a = entry as Record<string, unknown>
    const type = a.type as Account['type']
    if (!TYPES.includes(type)) throw invalidConfig(`override_accounts[${i}].type must be one of ${TYPES.join(', ')}`)
    const meta = (a.meta ?? {}) as Record<string, unknown>
    const balance = a.starting_balance ?? 0
    if (typeof balance !== 'number') throw invalidConfig(`override_accounts[${i}].starting_balance must be a number`)
    const name = textOr(meta.name, `Custom ${type} ${i + 1}`, `override_accounts[${i}].meta.name`) as string
    return {
      name,
      officialName: textOr(meta.official_name, null, `override_accounts[${i}].meta.official_name`),
      mask: textOr(meta.mask, String(1000 + i).slice(-4), `override_accounts[${i}].meta.mask`) as string,
      type,
      subtype: textOr(a.subtype, DEFAULT_SUBTYPE[type], `override_accounts[${i}].subtype`) as string,
      balances: {
        available: type === 'depository' ? balance : null,
        current: balance,
        limit: type === 'credit' ? Math.max(balance, 1000) : null,
        isoCurrencyCode: 'USD',
      },
    }
  })
}
