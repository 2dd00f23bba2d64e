import { Hono } from 'hono/tiny'
import { requireUser } from '../auth/bearer'
import { serviceContext, withDeadline } from '../context'
import { createLinkToken } from '../services/link-token'
import type { AppEnv } from '../types'
import { readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { LinkTokenBody } from './schemas'

export const linkTokenRoutes = new Hono<AppEnv>().post(
  '/link-token',
  operation('create link token'),
  // 10 s is the seed's promise; the margin is for sending the answer.
  withDeadline(9_500),
  requireUser,
  async (c) => {
    const ctx = serviceContext(c)
    const body = await readJson(c, LinkTokenBody, { optional: true })
    await limitPlaidCalls(c)
    return c.json(await createLinkToken(ctx, c.get('userId'), body.item_id, body.account_selection === true))
  },
)
