import { Hono } from 'hono/tiny'
import { authenticateUser } from '../auth/bearer'
import { serviceContext } from '../context'
import { createLinkToken } from '../services/link-token'
import type { AppEnv } from '../types'
import { readJson } from './input'
import { endpoint } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { LinkTokenBody } from './schemas'

export const linkTokenRoutes = new Hono<AppEnv>().post(
  '/link-token',
  // 10 s is the seed's promise; the margin is for sending the answer.
  endpoint({ operation: 'create link token', caller: authenticateUser, deadlineMs: 9_500 }, async (c) => {
    const ctx = serviceContext(c)
    const body = await readJson(c, LinkTokenBody, { optional: true })
    await limitPlaidCalls(c)
    return c.json(await createLinkToken(ctx, c.get('userId'), body.item_id, body.account_selection === true))
  }),
)
