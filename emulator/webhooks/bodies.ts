/**
 * The webhook bodies Plaid sends about an Item (the spec's *Webhook schemas).
 */
import type { Item } from '../model'
import type { EmulatedPlaidError } from '../plaid-error'

/** Fields every Item webhook starts with; `user_id` only for Items created for a Plaid user. */
function envelope(item: Item, type: string, code: string) {
  return {
    webhook_type: type,
    webhook_code: code,
    item_id: item.id,
    ...(item.userId !== null && { user_id: item.userId }),
  }
}

const ENVIRONMENT = 'sandbox'

/** SyncUpdatesAvailableWebhook: new changes wait at /transactions/sync. */
export const syncUpdatesAvailable = (item: Item) => ({
  ...envelope(item, 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE'),
  initial_update_complete: true,
  historical_update_complete: true,
  environment: ENVIRONMENT,
})

/** DefaultUpdateWebhook (the /transactions/get era webhook). */
export const defaultUpdate = (item: Item, newTransactions: number) => ({
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'DEFAULT_UPDATE',
  item_id: item.id,
  error: null,
  new_transactions: newTransactions,
  environment: ENVIRONMENT,
})

/** AuthDefaultUpdateWebhook: no account numbers changed in the emulator. */
export const authDefaultUpdate = (item: Item) => ({
  webhook_type: 'AUTH',
  webhook_code: 'DEFAULT_UPDATE',
  item_id: item.id,
  account_ids_with_new_auth: [],
  account_ids_with_updated_auth: {},
  error: null,
  environment: ENVIRONMENT,
})

/** RecurringTransactionsUpdateWebhook. */
export const recurringTransactionsUpdate = (item: Item) => ({
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'RECURRING_TRANSACTIONS_UPDATE',
  item_id: item.id,
  // The accounts that carry transactions (a CD has none).
  account_ids: item.accounts
    .filter((a) => a.type === 'credit' || ['checking', 'savings'].includes(a.subtype))
    .map((a) => a.id),
  environment: ENVIRONMENT,
})

/** ItemErrorWebhook: the Item entered `error` (a PlaidError with its HTTP status). */
export const itemErrorWebhook = (item: Item, error: EmulatedPlaidError) => ({
  ...envelope(item, 'ITEM', 'ERROR'),
  error: error.itemError(),
  environment: ENVIRONMENT,
})

/** NewAccountsAvailableWebhook. */
export const newAccountsAvailable = (item: Item) => ({
  ...envelope(item, 'ITEM', 'NEW_ACCOUNTS_AVAILABLE'),
  error: null,
  environment: ENVIRONMENT,
})

/** ItemLoginRepairedWebhook. */
export const loginRepaired = (item: Item) => ({
  ...envelope(item, 'ITEM', 'LOGIN_REPAIRED'),
  environment: ENVIRONMENT,
})

/** PendingExpirationWebhook: consent ends at `expiresAt` (Plaid warns 7 days ahead). */
export const pendingExpiration = (item: Item, expiresAt: number) => ({
  ...envelope(item, 'ITEM', 'PENDING_EXPIRATION'),
  consent_expiration_time: new Date(expiresAt).toISOString(),
  environment: ENVIRONMENT,
})

/** PendingDisconnectWebhook: the bank is migrating; the Item must go through update mode. */
export const pendingDisconnect = (item: Item, disconnectAt: number) => ({
  ...envelope(item, 'ITEM', 'PENDING_DISCONNECT'),
  reason: 'INSTITUTION_MIGRATION',
  disconnect_time: new Date(disconnectAt).toISOString(),
  environment: ENVIRONMENT,
})

/** UserPermissionRevokedWebhook, with the USER_PERMISSION_REVOKED error Plaid attaches. */
export const userPermissionRevoked = (item: Item, error: EmulatedPlaidError) => ({
  ...envelope(item, 'ITEM', 'USER_PERMISSION_REVOKED'),
  error: error.itemError(),
  environment: ENVIRONMENT,
})

/** UserAccountRevokedWebhook: names the one account the user revoked. */
export const userAccountRevoked = (item: Item, accountId: string) => ({
  ...envelope(item, 'ITEM', 'USER_ACCOUNT_REVOKED'),
  account_id: accountId,
  environment: ENVIRONMENT,
})

/** WebhookUpdateAcknowledgedWebhook: sent to the new URL after /item/webhook/update. */
export const webhookUpdateAcknowledged = (item: Item, url: string) => ({
  webhook_type: 'ITEM',
  webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED',
  item_id: item.id,
  error: null,
  new_webhook_url: url,
  environment: ENVIRONMENT,
})
