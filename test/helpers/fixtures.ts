/**
 * vitest's `it` with this suite's fixtures (vitest "test context"): a test names what it needs in
 * its first argument and gets it made fresh, e.g. `it('...', async ({ linked: { env, user, itemId } }) => ...)`.
 */

import { it as base } from 'vitest'
import { type TestEnv, testEnv } from './env'
import { itemIdOf, linkItem, newUser, type User } from './linking'

/** A test's own env, a new user, and an Item that user linked (its first sync run). */
export type Linked = { env: TestEnv; user: User; itemId: string }

export const it = base.extend('linked', async (): Promise<Linked> => {
  const env = testEnv()
  const user = await newUser()
  const itemId = itemIdOf(await linkItem(env, user))
  return { env, user, itemId }
})
