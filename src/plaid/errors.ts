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

/** Plaid's data changed between two pages of /transactions/sync: restart from the first cursor. */
export const SYNC_MUTATION = 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION'

/**
 * Plaid's error codes that say "try again later" rather than "this request is wrong", per Plaid's
 * error guide (plaid.com/docs/errors): the institution is down or not responding for now
 * (INSTITUTION_ERROR), Plaid failed, or its API is off for planned maintenance (API_ERROR; these
 * two come with a 5xx status, which is transient on its own too).
 * INSTITUTION_NOT_AVAILABLE is in no enum of the spec; Plaid's Link SDKs list it with the
 * institution errors, and taking it for a passing one costs at most a vain retry.
 */
const TRANSIENT_CODES = new Set([
  'INSTITUTION_DOWN',
  'INSTITUTION_NOT_RESPONDING',
  'INSTITUTION_NOT_AVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'PLANNED_MAINTENANCE',
])

/** Plaid limited the rate of calls (HTTP 429, error_type RATE_LIMIT_EXCEEDED, whatever the code). */
export const isRateLimited = (error: unknown): boolean =>
  error instanceof PlaidApiError && (error.status === 429 || error.errorType === 'RATE_LIMIT_EXCEEDED')

/**
 * The same call may succeed later: Plaid rate limited it, Plaid or the bank had a passing failure,
 * or Plaid could not be reached or did not answer in time.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof PlaidConnectionError || error instanceof PlaidTimeoutError) return true
  if (error instanceof PlaidApiError)
    return isRateLimited(error) || error.status >= 500 || TRANSIENT_CODES.has(error.errorCode)
  if (error instanceof PlaidResponseError) return error.status === 429 || error.status >= 500
  return false
}

/**
 * Whether the API's caller may succeed by sending the same request again later: any transient
 * failure, and a sync whose pages Plaid kept changing (the sync already restarted it as Plaid says
 * to; a later one starts afresh from the same cursor).
 */
export const isRetryable = (error: PlaidError): boolean =>
  isTransient(error) || (error instanceof PlaidApiError && error.errorCode === SYNC_MUTATION)
