/**
 * What a Plaid error means for an Item, as the status the API stores and the frontend acts on
 * (the README's status table).
 */
import { PlaidApiError } from '../plaid/errors'
import type { Account, Item, ItemStatus } from '../store/items'

/** An Item with its accounts, as the API answers them. */
export type LinkedItem = { item: Item; accounts: Account[] }

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
  PENDING_EXPIRATION: 'pending_expiration',
  PENDING_DISCONNECT: 'pending_disconnect',
  USER_PERMISSION_REVOKED: 'permission_revoked',
  ITEM_NOT_FOUND: 'disconnected',
}

export function statusForError(errorCode: string | null | undefined): ItemStatus {
  return (errorCode && STATUS_FOR_ERROR[errorCode]) || 'good'
}

/** Whether the error is one only the user can fix (through update mode). */
export function needsUser(error: unknown): error is PlaidApiError {
  return error instanceof PlaidApiError && statusForError(error.errorCode) !== 'good'
}
