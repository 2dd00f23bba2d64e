/**
 * What can go wrong when calling Plaid, one class per kind, so routes and `app.onError` never
 * parse responses themselves. Messages never include credentials or access tokens.
 */

/** Base class: any failure of a Plaid call. */
export class PlaidError extends Error {
  override name = 'PlaidError'
}

/** Plaid answered with its documented error object (`error_type`, `error_code`, ...). */
export class PlaidApiError extends PlaidError {
  override name = 'PlaidApiError'
  constructor(
    readonly status: number,
    readonly errorType: string,
    readonly errorCode: string,
    readonly errorMessage: string,
    readonly displayMessage: string | null,
    readonly requestId: string | undefined,
  ) {
    super(errorMessage)
  }
}

/** Plaid could not be reached (DNS, connection refused, reset). */
export class PlaidConnectionError extends PlaidError {
  override name = 'PlaidConnectionError'
  constructor() {
    super('could not reach Plaid')
  }
}

/** Plaid did not answer in time. */
export class PlaidTimeoutError extends PlaidError {
  override name = 'PlaidTimeoutError'
  constructor(readonly timeoutMs: number) {
    super(`Plaid did not answer within ${timeoutMs} ms`)
  }
}

/** Plaid answered, but not with JSON of the documented shape. */
export class PlaidResponseError extends PlaidError {
  override name = 'PlaidResponseError'
  constructor(
    reason: string,
    readonly status: number,
    readonly requestId?: string,
  ) {
    super(`unexpected answer from Plaid (HTTP ${status}): ${reason}`)
  }
}

/**
 * Plaid errors that say the Item or its access token is gone for good (removed at Plaid, or a token
 * Plaid does not know): no retry can succeed and no update mode can repair it.
 */
const ITEM_GONE = new Set(['ITEM_NOT_FOUND', 'INVALID_ACCESS_TOKEN'])

export function isItemGone(error: unknown): error is PlaidApiError {
  return error instanceof PlaidApiError && ITEM_GONE.has(error.errorCode)
}
