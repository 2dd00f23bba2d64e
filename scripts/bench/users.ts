/** The bench's users and Items, made through the API and the emulator for the routes' setups. */
import { API_PREFIX, type ApiAnswer, type ApiRequest, bearer, callApi } from '../lib/api'
import { sandboxPublicToken } from '../lib/plaid'
import type { Stack } from '../lib/stack'
import { devToken } from '../lib/tokens'
import { INSTITUTION_ID } from './options'

/**
 * The API under `wrangler dev` (`apiUrl`), and the Plaid emulator (`emulatorUrl`) for setups that
 * need Plaid-side state (sandbox public tokens...), called with the client id the Worker under
 * test uses (`clientId`): the emulator keeps Items and webhook signing keys per client id.
 */
export type BenchContext = Pick<Stack, 'apiUrl' | 'emulatorUrl' | 'clientId'>
export type User = { id: string; token: string }

export const EXCHANGE_TOKEN = `${API_PREFIX}/exchange-token`

const runId = Date.now().toString(36)
let userCount = 0

/** A new user (a `sub` no other request of this run uses) with a dev bearer token valid for an hour. */
export async function newUser(label: string): Promise<User> {
  const id = `bench-${label}-${runId}-${++userCount}`
  return { id, token: await devToken(id, 3600) }
}

export const api = (ctx: BenchContext, request: ApiRequest): Promise<ApiAnswer> => callApi(ctx.apiUrl, request)

/** Links an Item for the user through the API (Sandbox public token, then exchange); its item_id. */
export async function linkItem(ctx: BenchContext, user: User, institutionId = INSTITUTION_ID): Promise<string> {
  const answer = await api(ctx, {
    method: 'POST',
    path: EXCHANGE_TOKEN,
    headers: bearer(user.token),
    body: { public_token: await sandboxPublicToken(ctx, institutionId) },
  })
  const itemId = (answer.json.item as { item_id?: unknown } | undefined)?.item_id
  if (answer.status !== 201 || typeof itemId !== 'string') {
    throw new Error(`linking an Item answered ${answer.status}: ${answer.text.slice(0, 300)}`)
  }
  return itemId
}
