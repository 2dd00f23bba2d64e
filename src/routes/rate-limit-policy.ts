/**
 * The API's budget of Plaid-backed requests, kept free of Worker types so the Node scripts
 * (`npm run loadtest`) import it too. wrangler.toml's [[ratelimits]] blocks set the budget; the
 * binding does not tell its limit or period, so they are restated here.
 */

/** Requests that reach Plaid each user may make per period. */
export const PLAID_CALLS_PER_MINUTE = 30
/** The `period` of both [[ratelimits]] blocks, answered as Retry-After. */
export const RATE_LIMIT_PERIOD_SECONDS = 60
/** The routes that spend the budget: those that call limitPlaidCalls. */
export const LIMITED_ROUTES = [
  'POST /link-token',
  'POST /exchange-token',
  'GET /accounts?refresh=true',
  'POST /items/:item_id/sync',
  'POST /items/:item_id/refresh',
  'DELETE /users/me',
] as const
