/**
 * Holds the documented answers (responses.ts) to the types the code answers with: `tsc` fails here
 * when one changes and the other does not. Types only; nothing imports this file (it is
 * type-checked with src/), so the build script never loads the Worker's storage types.
 */
import type * as v from 'valibot'
import type { BalanceRefreshOutcome } from '../services/balance-refresh'
import type { LinkedItem as LinkedItemType } from '../services/item-status'
import type { NewLink } from '../services/link-storage'
import type { SyncResult as SyncResultType } from '../services/transactions-sync'
import type { Account as AccountType, Item as ItemType } from '../store/items'
import type { Transaction as TransactionType } from '../store/transactions'
import type * as documented from './responses'

/** `true` when each type is assignable to the other: same fields, same optionality, same field types. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Holds<T extends true> = T

type Documented<K extends keyof typeof documented> = v.InferOutput<(typeof documented)[K]>

export type Checks = [
  Holds<Same<Documented<'Item'>, ItemType>>,
  Holds<Same<Documented<'Account'>, AccountType>>,
  Holds<Same<Documented<'Transaction'>, TransactionType>>,
  Holds<Same<Documented<'SyncResult'>, SyncResultType>>,
  Holds<Same<Omit<Documented<'LinkedItem'>, 'replaced_item_ids'>, LinkedItemType>>,
  Holds<Same<Documented<'LinkedItem'>, NewLink>>,
  Holds<Same<Documented<'BalanceRefresh'>['outcome'], BalanceRefreshOutcome['outcome']>>,
]
