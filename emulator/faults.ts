/**
 * Faults a test (or a developer) can ask for, so every error path of the API is reachable:
 * a Plaid error, a bare HTTP status, a slow answer, a body that is not JSON, JSON without the
 * documented fields, or a dropped connection.
 */
import { EmulatedPlaidError } from './plaid-error'

export type FaultSpec = {
  /** The Plaid path the fault applies to, or "*" for every path. */
  endpoint: string
  kind: 'plaid_error' | 'status' | 'slow' | 'garbage' | 'incomplete' | 'disconnect'
  /** How many matching requests it affects (default 1); 0 means every one until cleared. */
  times?: number
  /**
   * How many matching requests it lets through untouched before it fires (default 0), e.g. 1 to
   * fail only the second page of a /transactions/sync loop.
   */
  after?: number
  /** plaid_error / status: the HTTP status (plaid_error default 400, status default 502). */
  status?: number
  error_type?: string
  error_code?: string
  error_message?: string
  /** slow: milliseconds to wait before answering normally. */
  delay_ms?: number
  /** Only requests for this Item's access token (one user's call among many at once). */
  access_token?: string
}

/** A fault as stored: `remaining` counts down the requests it affects, `waiting` those it lets pass first. */
export type Fault = FaultSpec & { remaining: number; waiting: number }

/** Errors whose Plaid type and message a fault fills in when only the error_code is given. */
const KNOWN_ERRORS: Record<string, { type: string; message: string }> = {
  TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION: {
    type: 'TRANSACTIONS_ERROR',
    message:
      'Underlying transaction data changed since last page was fetched. Please restart pagination from last update.',
  },
}

/** What the endpoint wrapper should do instead of (or before) answering normally. */
export type FaultAction =
  | { type: 'error'; error: EmulatedPlaidError }
  | { type: 'raw'; status: number; body: string; contentType: string }
  | { type: 'delay'; ms: number }
  | { type: 'incomplete' }
  | { type: 'disconnect' }

export function parseFault(input: unknown): FaultSpec | string {
  if (typeof input !== 'object' || input === null) return 'a fault must be an object'
  const f = input as Record<string, unknown>
  const kinds = ['plaid_error', 'status', 'slow', 'garbage', 'incomplete', 'disconnect']
  if (typeof f.endpoint !== 'string' || (!f.endpoint.startsWith('/') && f.endpoint !== '*')) {
    return 'endpoint must be a Plaid path such as "/link/token/create" or "*"'
  }
  if (typeof f.kind !== 'string' || !kinds.includes(f.kind)) return `kind must be one of ${kinds.join(', ')}`
  if (f.access_token !== undefined && typeof f.access_token !== 'string') return 'access_token must be a string'
  if (f.after !== undefined && (typeof f.after !== 'number' || !Number.isInteger(f.after) || f.after < 0)) {
    return 'after must be a non-negative integer'
  }
  return f as FaultSpec
}

/**
 * Takes the first armed fault matching `path` (and the body's access token, if it names one), counting it down; undefined when none applies.
 * Every matching fault still waiting (`after`) counts this request as one it let through.
 */
export function takeFault(faults: Fault[], path: string, body: Record<string, unknown>): FaultAction | undefined {
  let index = -1
  for (const [i, f] of faults.entries()) {
    if (f.endpoint !== path && f.endpoint !== '*') continue
    if (f.access_token !== undefined && body.access_token !== f.access_token) continue
    if (f.waiting > 0) f.waiting--
    else if (index === -1) index = i
  }
  if (index === -1) return undefined
  const fault = faults[index] as Fault
  if (fault.remaining > 0 && --fault.remaining === 0) faults.splice(index, 1)
  switch (fault.kind) {
    case 'plaid_error': {
      const known = fault.error_code === undefined ? undefined : KNOWN_ERRORS[fault.error_code]
      return {
        type: 'error',
        error: new EmulatedPlaidError(
          fault.status ?? 400,
          fault.error_type ?? known?.type ?? 'INVALID_REQUEST',
          fault.error_code ?? 'INVALID_FIELD',
          fault.error_message ?? known?.message ?? 'an error injected by the emulator',
        ),
      }
    }
    case 'status':
      return {
        type: 'raw',
        status: fault.status ?? 502,
        body: '<html><body>502 Bad Gateway</body></html>',
        contentType: 'text/html',
      }
    case 'garbage':
      return { type: 'raw', status: 200, body: 'this is not JSON {', contentType: 'application/json' }
    case 'slow':
      return { type: 'delay', ms: fault.delay_ms ?? 15_000 }
    case 'incomplete':
      return { type: 'incomplete' }
    case 'disconnect':
      return { type: 'disconnect' }
  }
}
