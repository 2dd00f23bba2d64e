import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { serviceContext, withDeadline } from '../context'
import { createLinkToken } from '../services/link-token'
import type { AppEnv } from '../types'
import { jsonObject, plaidId, readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'

const LinkTokenBody = v.pipe(
  jsonObject({
    item_id: v.optional(plaidId('item_id')),
    /** Update mode that lets the user share accounts they left out (NEW_ACCOUNTS_AVAILABLE). */
    account_selection: v.optional(v.boolean('account_selection must be true or false')),
  }),
  v.check((body) => !body.account_selection || body.item_id !== undefined, 'account_selection needs item_id'),
)

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
