/**
 * What Plaid says about an Item, as the status the API stores and the frontend acts on (the
 * README's status table): the one place Plaid's error codes and ITEM webhook codes become our
 * statuses, for the exchange, refreshes and the queue consumer alike.
 */
import { PlaidApiError } from './errors'

export type ItemStatus =
  | 'good'
  | 'login_required'
  | 'update_required'
  | 'pending_expiration'
  | 'pending_disconnect'
  | 'permission_revoked'
  | 'disconnected'

/**
 * Items Plaid will never serve again: the user revoked access (USER_PERMISSION_REVOKED), or Plaid
 * no longer knows the Item (ITEM_NOT_FOUND). Update mode cannot bring them back; the user removes
 * them and links the bank again, and they are no longer duplicates of the new Item.
 */
export const DEAD_STATUSES: readonly ItemStatus[] = ['permission_revoked', 'disconnected']

/** Codes Plaid sends both as an Item's error and as an ITEM webhook of their own, meaning the same. */
const WARNINGS = {
  PENDING_EXPIRATION: 'pending_expiration',
  PENDING_DISCONNECT: 'pending_disconnect',
  USER_PERMISSION_REVOKED: 'permission_revoked',
} as const satisfies Record<string, ItemStatus>

/**
 * Item errors that need the user, as stored statuses: those update mode fixes (the login; access
 * or accounts the user must grant again at the bank, then in Link), and those that end the Item
 * (access revoked, or an Item Plaid no longer knows), which only removing it and linking the bank
 * again fixes.
 */
const STATUS_FOR_ERROR: Record<string, ItemStatus> = {
  ITEM_LOGIN_REQUIRED: 'login_required',
  ACCESS_NOT_GRANTED: 'update_required',
  NO_ACCOUNTS: 'update_required',
  ITEM_LOCKED: 'update_required',
  USER_SETUP_REQUIRED: 'update_required',
  ...WARNINGS,
  ITEM_NOT_FOUND: 'disconnected',
}

/** ITEM webhooks that change what the frontend should offer (update mode, or nothing). */
const STATUS_FOR_WEBHOOK: Record<string, ItemStatus> = {
  ...WARNINGS,
  LOGIN_REPAIRED: 'good',
}

/** The status an Item with this error code has: `good` for none, or for one the user cannot fix. */
export function statusForError(errorCode: string | null | undefined): ItemStatus {
  return (errorCode && STATUS_FOR_ERROR[errorCode]) || 'good'
}

/** The status an ITEM webhook of this code sets, if it sets one. */
export function statusForWebhook(webhookCode: string): ItemStatus | undefined {
  return STATUS_FOR_WEBHOOK[webhookCode]
}

/** Whether the error is one only the user can fix (through update mode). */
export function needsUser(error: unknown): error is PlaidApiError {
  return error instanceof PlaidApiError && statusForError(error.errorCode) !== 'good'
}
