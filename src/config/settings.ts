/**
 * The settings the Worker reads beside its bindings: vars (`[vars]` in wrangler.toml) and secrets
 * (`wrangler secret put NAME`, locally `.dev.vars`). The bindings and the vars wrangler.toml sets
 * are typed by `wrangler types` (worker-configuration.d.ts, `npm run types`); this interface adds
 * what wrangler cannot see: the secrets, and the vars a deployment may leave unset.
 * Everything is optional here because a deployment can lack any of it: src/config reports what is
 * missing or malformed by name.
 */
export interface Settings {
  /** Secret: base64 of 32 random bytes that seals access tokens (openssl rand -base64 32). */
  TOKEN_ENCRYPTION_KEY?: string
  /** Secret: comma list of previous TOKEN_ENCRYPTION_KEY values, still accepted for reading. */
  TOKEN_ENCRYPTION_KEYS_OLD?: string
  /**
   * Secret: base64 of 32 random bytes that keys the hash of the user id sent to Plaid as
   * `client_user_id` (openssl rand -base64 32). Changing it gives every user a new one at Plaid.
   */
  PLAID_CLIENT_USER_ID_KEY?: string
  /** Var: milliseconds before /accounts/balance/get is abandoned (default 30000, at most 60000). */
  PLAID_BALANCE_TIMEOUT_MS?: string
  /** Secret: HMAC key for the bearer JWTs the frontend sends. */
  JWT_SECRET?: string
  /** Var: HS256 (default), HS384 or HS512; with JWT_JWKS_URL, a comma list such as RS256,ES256. */
  JWT_ALG?: string
  /** Var: an identity provider's JWKS URL (Auth0, Clerk, Supabase, Cognito...); replaces JWT_SECRET. */
  JWT_JWKS_URL?: string
  /** Var: seconds of clock difference allowed on a token's `exp`, `nbf` and `iat` (default 60, at most 300). */
  JWT_CLOCK_SKEW_SECONDS?: string
  /** Var: when set, the token's `iss` must equal it. */
  JWT_ISSUER?: string
  /** Var: when set, the token's `aud` must contain it. */
  JWT_AUDIENCE?: string
  /** Secret: Plaid `client_id` from the Plaid Dashboard (Team Settings > Keys). */
  PLAID_CLIENT_ID?: string
  /** Secret: Plaid secret for the environment named by PLAID_ENV. */
  PLAID_SECRET?: string
  /** Var: `sandbox` or `production`; picks Plaid's host. */
  PLAID_ENV?: string
  /** Var: overrides Plaid's host (the local emulator, a proxy, tests). */
  PLAID_BASE_URL?: string
  /** Var: URL Plaid calls with webhooks for Items linked through our link tokens (the hourly cron moves older Items to it). */
  PLAID_WEBHOOK_URL?: string
  /** Var: OAuth redirect URI registered in the Plaid Dashboard. */
  PLAID_REDIRECT_URI?: string
  /** Var: the app name Link shows, at most 30 characters. */
  PLAID_CLIENT_NAME?: string
  /** Var: comma list of Plaid products every new Item must have (default `transactions,auth`); hides banks without them. */
  PLAID_PRODUCTS?: string
  /** Var: comma list of products a new Item gets when its bank supports them; hides no bank. */
  PLAID_REQUIRED_IF_SUPPORTED_PRODUCTS?: string
  /** Var: comma list of products Plaid adds best-effort; hides no bank, and failing to get one fails no link. */
  PLAID_OPTIONAL_PRODUCTS?: string
  /**
   * Var: days of transaction history a new Item gets, 1 to 730 (default 730, Plaid's maximum).
   * Plaid fixes it when the Item is linked: raising it later means removing the Item and linking again.
   */
  PLAID_TRANSACTIONS_DAYS_REQUESTED?: string
  /** Var: comma list of country codes (default `US`). */
  PLAID_COUNTRY_CODES?: string
  /** Var: Link's display language (default `en`). */
  PLAID_LANGUAGE?: string
  /** Var: milliseconds before a Plaid call is abandoned (default 8000, at most 10000). */
  PLAID_TIMEOUT_MS?: string
  /** Var: comma list of browser origins allowed to call the API (CORS). */
  ALLOWED_ORIGINS?: string
  /** Set only by `npm run dev` and the tests: turns on the development defaults. */
  LOCAL_DEV?: string
  /**
   * Var: `true` makes the hourly cron move users who have not come back from the D1 tables of
   * earlier releases into their objects, which are then placed near the cron (README, "Storage").
   */
  MOVE_IDLE_USERS?: string
  /** Secret: at least 32 characters; turns on the operator routes (/api/v1/operator/...) for its bearer. */
  OPERATOR_TOKEN?: string
  /**
   * Var: seconds a pending link waits before the user's object has it finished or removed at Plaid
   * (default 300, from 10 to 3600); shorter only for tests such as `npm run loadtest`.
   */
  PENDING_LINK_GRACE_SECONDS?: string
}

/** What the Worker may find in its env: every binding, var and secret, none of them guaranteed. */
export type Bindings = Partial<Env> & Settings
