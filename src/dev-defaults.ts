/**
 * Local-development defaults, used only when LOCAL_DEV=true (which only `npm run dev` sets) and
 * by the dev scripts. Kept apart from src/config so Node scripts can import them without Worker types.
 */

/** Where local development finds the Plaid emulator (`npm run dev` starts it there). */
export const EMULATOR_URL = 'http://127.0.0.1:8788'
/**
 * Credentials the emulator accepts; they grant nothing anywhere else. Local development uses them
 * whenever neither Plaid key is set, also with PLAID_BASE_URL pointing at a moved emulator.
 */
export const EMULATOR_CLIENT_ID = 'emulator-client-id'
export const EMULATOR_SECRET = 'emulator-secret'
/** Signs dev tokens (`npm run token`); never accepted by a deployed Worker. */
export const DEV_JWT_SECRET = 'dev-only-jwt-secret-do-not-use-in-production'
/** Seals access tokens in local development only. */
export const DEV_TOKEN_ENCRYPTION_KEY = 'ZGV2LW9ubHkta2V5LWZvci1sb2NhbC1kZXZlbG9wbWU='
/** Keys the client_user_id sent to Plaid (a hash of the user id) in local development only. */
export const DEV_CLIENT_USER_ID_KEY = 'ZGV2LW9ubHktcGxhaWQtY2xpZW50LXVzZXItaWQtayE='
