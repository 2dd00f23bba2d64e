import { hmacSha256Hex } from '../crypto/hash'

/**
 * The `user.client_user_id` Plaid is sent for a user: HMAC-SHA256 of the API's user id (the
 * JWT's `sub`) keyed with PLAID_CLIENT_USER_ID_KEY, in lower-case hex.
 *
 * Plaid asks for no personal data there (LinkTokenCreateRequestUser: "such as an email address
 * or phone number"), and identity providers often put an email in `sub`. The keyed hash is the
 * same for one user every time (Plaid's Dashboard finds a user's Link sessions by it) and
 * differs across users; unlike a plain hash, nobody without the key can check a guessed email
 * against it. It has a key of its own rather than one derived from TOKEN_ENCRYPTION_KEY, which is
 * meant to be rotated: every user's client_user_id would change with each rotation.
 */
export function plaidClientUserId(key: Uint8Array, userId: string): Promise<string> {
  return hmacSha256Hex(key, userId)
}
