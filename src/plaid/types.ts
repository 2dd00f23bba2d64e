/**
 * The subset of Plaid's request and response shapes this API uses, named and typed as in
 * Plaid's OpenAPI spec (2020-09-14). Credentials are sent as headers, so `client_id` and
 * `secret` are left out of the bodies.
 */

export type LinkTokenCreateRequest = {
  client_name: string
  language: string
  country_codes: string[]
  user: { client_user_id: string }
  products?: string[]
  webhook?: string
  redirect_uri?: string
  access_token?: string
}

export type LinkTokenCreateResponse = {
  link_token: string
  expiration: string
  request_id?: string
}
