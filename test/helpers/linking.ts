import { api, type CallResult } from './api'
import { emulator } from './emulator'
import { queuedJobs, RecordingQueue, runQueue, type TestEnv } from './env'
import { mintToken, newUserId } from './tokens'
import { waitFor } from './wait'

export type User = { id: string; token: string }

export async function newUser(): Promise<User> {
  const id = newUserId()
  return { id, token: await mintToken({ sub: id }) }
}

/**
 * Links an institution for the user through the real flow: Sandbox public token, then exchange,
 * then the first sync the exchange queued, so the Item is as it is in production moments later.
 */
export async function linkItem(env: TestEnv, user: User, institutionId = 'ins_109508'): Promise<CallResult> {
  const publicToken = await emulator.publicToken(env, institutionId)
  const res = await exchange(env, user, publicToken)
  if (res.status === 201) await settleFirstSync(env, itemIdOf(res))
  return res
}

/**
 * Links an institution the way a browser app does: a link token from this API (carrying
 * PLAID_WEBHOOK_URL when the env sets it, and so giving the Item that webhook URL, or none),
 * the user finishing Link, then the exchange and its first sync.
 */
export async function linkItemThroughLink(env: TestEnv, user: User, institutionId = 'ins_109508'): Promise<string> {
  const linkToken = await api.linkToken(env, user.token)
  if (linkToken.status !== 200) throw new Error(`link token refused: ${linkToken.status} ${linkToken.text}`)
  const res = await exchange(
    env,
    user,
    await emulator.finishLink(env, linkToken.body.link_token as string, institutionId),
  )
  if (res.status !== 201) throw new Error(`linking failed: ${res.status} ${res.text}`)
  await settleFirstSync(env, itemIdOf(res))
  return itemIdOf(res)
}

/**
 * Links an Item whose queued first sync has not run (and never will in this test): the state a
 * user's manual sync meets when it comes before the queue's.
 */
export async function linkItemBeforeFirstSync(env: TestEnv, user: User, institutionId = 'ins_109508') {
  const res = await exchange(env, user, await emulator.publicToken(env, institutionId))
  if (res.status !== 201) throw new Error(`linking failed: ${res.status} ${res.text}`)
  queuedJobs(env).length = 0
  return itemIdOf(res)
}

/** `count` Items as linkItemBeforeFirstSync leaves them, each of its own new user, linked a few at a time. */
export async function linkManyBeforeFirstSync(env: TestEnv, count: number): Promise<string[]> {
  const items: string[] = []
  while (items.length < count) {
    const batch = Math.min(10, count - items.length)
    items.push(
      ...(await Promise.all(Array.from({ length: batch }, async () => linkItemBeforeFirstSync(env, await newUser())))),
    )
  }
  return items
}

/**
 * Runs the queued first sync of a new Item (a RecordingQueue env), or, on the real queue, waits
 * until its consumer has called /transactions/sync on the Item.
 */
export async function settleFirstSync(env: TestEnv, itemId: string): Promise<void> {
  if (env.WEBHOOK_QUEUE instanceof RecordingQueue) {
    await runQueue(env)
    return
  }
  await waitFor(
    () => emulator.items(env),
    (items) => items.some((i) => i.item_id === itemId && i.sync_called),
    { timeoutMs: 15_000, what: `the first /transactions/sync of ${itemId}` },
  )
}

export function exchange(env: TestEnv, user: User, publicToken: string, extra: Record<string, unknown> = {}) {
  return api.exchangeToken(env, user.token, { public_token: publicToken, ...extra })
}

export const itemIdOf = (res: CallResult) => (res.body.item as { item_id: string }).item_id
