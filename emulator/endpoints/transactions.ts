/**
 * `/transactions/sync`: validates the request as Plaid does, resolves the cursor to a position in
 * the Item's change log (../transactions/log.ts) and renders one page as TransactionsSyncResponse.
 */
import type { Item } from '../model'
import { EmulatedPlaidError, invalidField, invalidInput } from '../plaid-error'
import type { EndpointRegistry } from '../registry'
import { transactionLog } from '../state'
import { decodeCursor, encodeCursor } from '../transactions/cursor'
import type { TransactionLog } from '../transactions/log'
import type { TransactionJson } from '../transactions/types'
import { boolean, checkFields, integer, object, string, stringOf } from '../validate'
import { accountJson, healthyItem } from './items'

const DEFAULT_COUNT = 100
const MUTATION_DURING_PAGINATION = 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION'

export function transactionEndpoints(api: EndpointRegistry): void {
  api.post(
    '/transactions/sync',
    (body, { tenant }) => {
      checkFields(body, {
        access_token: { required: true, rule: string },
        cursor: { rule: string },
        count: { rule: integer(1, 500) },
        options: {
          rule: object({
            include_original_description: { rule: boolean },
            include_personal_finance_category: { rule: boolean },
            include_logo_and_counterparty_beta: { rule: boolean },
            personal_finance_category_version: { rule: stringOf(['v1', 'v2']) },
            days_requested: { rule: integer(1, 730) },
            account_id: { rule: string },
          }),
        },
      })
      // The spec: "If specified, `options` must not be `null`."
      if (body.options === null) throw invalidField('options must be an object, not null')
      const item = healthyItem(tenant, body)
      const options = (body.options ?? {}) as {
        include_original_description?: boolean | null
        days_requested?: number
        account_id?: string
      }
      const accountId = options.account_id ?? null
      if (accountId !== null && !item.accounts.some((a) => a.id === accountId)) {
        throw invalidInput('INVALID_ACCOUNT_ID', 'failed to find requested account ID for requested item')
      }
      // The first /transactions/sync initializes Transactions on an Item created without it, and
      // from then on Plaid announces new changes with SYNC_UPDATES_AVAILABLE.
      if (!item.products.includes('transactions')) item.products.push('transactions')
      item.syncCalled = true
      const log = transactionLog(item, options.days_requested)

      if (!item.transactionsReady) {
        return {
          accounts: [],
          added: [],
          modified: [],
          removed: [],
          next_cursor: '',
          has_more: false,
          transactions_update_status: 'NOT_READY',
        }
      }
      const from = cursorIndex(body.cursor as string | undefined, item, log, accountId)
      const page = log.page(from, (body.count as number | undefined) ?? DEFAULT_COUNT, accountId)
      // personal_finance_category_version is accepted, but every page uses the v1 taxonomy, and says
      // so in each category's `version`.
      const render = (t: TransactionJson) => renderTransaction(t, options.include_original_description === true)
      return {
        accounts: item.accounts
          .filter((a) => log.accountIds.has(a.id) && (accountId === null || a.id === accountId))
          .map((a) => accountJson(a)),
        added: page.added.map(render),
        modified: page.modified.map(render),
        removed: page.removed.map((t) => ({ account_id: t.account_id, transaction_id: t.transaction_id })),
        next_cursor: encodeCursor({ itemId: item.id, accountId, index: page.next }),
        has_more: page.hasMore,
        transactions_update_status: 'HISTORICAL_UPDATE_COMPLETE',
      }
    },
    {
      // Plaid answers this error because the Item's data changed between two pages; an injected
      // one makes that true, so a client that restarts from its first cursor sees the change.
      onFault(error, body, { tenant }) {
        if (error.errorCode !== MUTATION_DURING_PAGINATION || typeof body.access_token !== 'string') return
        try {
          transactionLog(tenant.itemForAccessToken(body.access_token)).change({ modify: 1 }, tenant.now())
        } catch (e) {
          // No such Item: nothing to change; the injected error answers anyway.
          if (!(e instanceof EmulatedPlaidError)) throw e
        }
      },
    },
  )
}

/**
 * Where in the log a cursor points. None or "" is the beginning; "now" is the end (Plaid's
 * migration shortcut). A cursor the emulator did not issue, or issued for another Item or another
 * account stream, is INVALID_FIELD as at Plaid.
 */
function cursorIndex(cursor: string | undefined, item: Item, log: TransactionLog, accountId: string | null): number {
  if (cursor === undefined || cursor === '') return 0
  if (cursor === 'now') return log.events.length
  const position = decodeCursor(cursor)
  if (!position) throw invalidField('cursor is invalid: pass a next_cursor returned by /transactions/sync')
  if (position.itemId !== item.id) throw invalidField('cursor not associated with access_token')
  if (position.index > log.events.length) {
    throw invalidField('cursor is invalid: pass a next_cursor returned by /transactions/sync')
  }
  if (position.accountId !== accountId) {
    throw invalidField('cursor not associated with the account_id in options (or with all accounts, without one)')
  }
  return position.index
}

/** A Transaction as Plaid returns it: `original_description` only when asked for. */
export function renderTransaction(t: TransactionJson, includeOriginalDescription: boolean) {
  const { original_description, ...rest } = t
  return includeOriginalDescription ? { ...rest, original_description } : rest
}
