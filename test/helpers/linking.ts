import { mintToken, newUserId } from './tokens'
import { type CallResult, call, emulator, type TestEnv } from './worker'

export type User = { id: string; token: string }

export async function newUser(): Promise<User> {
  const id = newUserId()
  return { id, token: await mintToken({ sub: id }) }
}

/** Links an institution for the user through the real flow: Sandbox public token, then exchange. */
export async function linkItem(env: TestEnv, user: User, institutionId = 'ins_109508'): Promise<CallResult> {
  const publicToken = await emulator.publicToken(env, institutionId)
  return exchange(env, user, publicToken)
}

export function exchange(env: TestEnv, user: User, publicToken: string, extra: Record<string, unknown> = {}) {
  return call(env, 'POST', '/api/v1/banking/exchange-token', {
    token: user.token,
    body: { public_token: publicToken, ...extra },
  })
}

export const itemIdOf = (res: CallResult) => (res.body.item as { item_id: string }).item_id
