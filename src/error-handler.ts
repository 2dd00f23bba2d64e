import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { JwksUnavailableError } from './auth/jwks'
import { logOf } from './context'
import { TokenCipherError } from './crypto/token-cipher'
import { ApiError, ConfigError } from './errors'
import { createLogger, type LogFields } from './log'
import { isRateLimited, isRetryable, PlaidApiError, PlaidError, PlaidResponseError } from './plaid/errors'
import { WebhookVerificationError } from './plaid/webhook-verification'
import { SyncRaceError } from './services/transactions-sync'
import { isMoveInProgress, MOVE_IN_PROGRESS } from './store/legacy/move'
import type { AppEnv } from './types'

/**
 * Retry-After for Plaid's rate limits. Plaid answers 429 without the header, and counts its limits
 * per minute (per Item and per client: plaid.com/docs/errors/rate-limit-exceeded), so a full
 * minute is the wait after which the window that refused the call has surely passed.
 */
const PLAID_RATE_LIMIT_WINDOW_SECONDS = 60

/**
 * Retry-After while the user's rows are being moved into their object: each request copies one
 * slice of a few seconds (store/legacy/), so a client that comes back soon moves it on.
 */
const MOVE_RETRY_AFTER_SECONDS = 2

export type Failure = {
  status: ContentfulStatusCode
  body: Record<string, string | boolean>
  headers?: Record<string, string>
  log: LogFields
}

/**
 * Maps any thrown error to the documented body `{"detail": ...}` (plus safe extras such as
 * Plaid's `error_code`), and writes one log line per failed request. The only error mapping
 * in the app.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  const failure = toFailure(error, c.get('operation'))
  // Without a request id only if the request failed before the first middleware ran.
  const log = c.get('requestId') === undefined ? createLogger() : logOf(c)
  log(failure.status >= 500 ? 'error' : 'warn', 'request failed', {
    method: c.req.method,
    route: c.req.routePath,
    path: c.req.path,
    status: failure.status,
    ...failure.log,
  })
  return c.json(failure.body, failure.status, failure.headers)
}

/** The status, body and log fields `error` maps to (also used for one Item's failure within an answer). */
export function toFailure(error: Error, operation: string | undefined): Failure {
  // "Failed to create link token: <reason>" is the seed's contract for upstream and server errors.
  const failed = (reason: string) => (operation ? `Failed to ${operation}: ${reason}` : reason)

  if (error instanceof ApiError) {
    return {
      status: error.status,
      body: { detail: error.message, ...error.extra },
      headers: error.headers,
      log: { error: error.name },
    }
  }
  if (isMoveInProgress(error)) {
    // Thrown by the user's object, whose errors reach the Worker as plain Errors with their message.
    return {
      status: 503,
      body: { detail: MOVE_IN_PROGRESS },
      headers: { 'Retry-After': String(MOVE_RETRY_AFTER_SECONDS) },
      log: { error: 'MoveInProgressError' },
    }
  }
  if (error instanceof WebhookVerificationError) {
    // One answer for every failed check, so a forger is not told which check to get past next;
    // the log keeps the reason for whoever debugs a misconfigured sender.
    return {
      status: 401,
      body: { detail: 'Failed to verify webhook: invalid Plaid-Verification' },
      log: { error: error.name, reason: error.message },
    }
  }
  if (error instanceof SyncRaceError) {
    return { status: 409, body: { detail: failed(error.message) }, log: { error: error.name } }
  }
  // Plaid's own errors stay 400 (the seed's contract) and the rest 500; `retryable` tells the
  // frontend whether the same request may succeed later, which the status alone cannot say.
  if (error instanceof PlaidApiError) {
    const body: Record<string, string | boolean> = {
      detail: failed(error.errorMessage),
      error_type: error.errorType,
      error_code: error.errorCode,
      retryable: isRetryable(error),
    }
    if (error.displayMessage) body.display_message = error.displayMessage
    if (error.requestId) body.request_id = error.requestId
    return {
      status: 400,
      body,
      headers: isRateLimited(error) ? { 'Retry-After': String(PLAID_RATE_LIMIT_WINDOW_SECONDS) } : undefined,
      log: {
        error: error.name,
        plaid_status: error.status,
        error_code: error.errorCode,
        plaid_request_id: error.requestId,
      },
    }
  }
  if (error instanceof PlaidError) {
    const requestId = error instanceof PlaidResponseError ? error.requestId : undefined
    return {
      status: 500,
      body: {
        detail: failed(error.message),
        retryable: isRetryable(error),
        ...(requestId && { request_id: requestId }),
      },
      log: { error: error.name, plaid_request_id: requestId },
    }
  }
  if (error instanceof ConfigError || error instanceof TokenCipherError || error instanceof JwksUnavailableError) {
    return { status: 500, body: { detail: failed(error.message) }, log: { error: error.name, detail: error.message } }
  }
  if (error instanceof HTTPException) {
    // Raised by hono's own middleware; its default messages carry no request data.
    const status = error.status as ContentfulStatusCode
    return { status, body: { detail: error.message || 'request rejected' }, log: { error: error.name } }
  }
  // Anything else is a bug: the caller learns nothing about it; the log gets its name and its text,
  // the text under its own key because `message` is the line's own ("request failed").
  return {
    status: 500,
    body: { detail: failed('internal error') },
    log: { error: error.name, error_message: error.message },
  }
}
