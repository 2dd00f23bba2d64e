import { Hono } from 'hono/tiny'
import type * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { serviceContext } from '../context'
import type { LinkMetadata } from '../services/link-storage'
import { exchangePublicToken } from '../services/linking'
import type { AppEnv } from '../types'
import { readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { ACCEPTED_EXCHANGE_BODY, ExchangeBody, type LinkInstitution } from './schemas'

export const exchangeTokenRoutes = new Hono<AppEnv>().post(
  '/exchange-token',
  operation('exchange public token'),
  requireUser,
  async (c) => {
    const body = await readJson(c, ExchangeBody, { expected: ACCEPTED_EXCHANGE_BODY })
    const linkSessionId = body.metadata?.link_session_id
    // Plaid asks integrators to keep Link's session id for support: every line of this request has it.
    if (linkSessionId) c.set('log', c.get('log').with({ link_session_id: linkSessionId }))
    const { created, ...linked } = await exchangePublicToken(
      serviceContext(c),
      c.get('userId'),
      body.public_token,
      linkMetadata(body.metadata ?? { institution: body.institution }),
      // A replay of a token already exchanged answers from D1 and costs no budget.
      () => limitPlaidCalls(c),
    )
    c.get('log')('info', created ? 'item linked' : 'public token replayed', {
      item_id: linked.item.item_id,
      institution_id: linked.item.institution_id,
    })
    // 201 for a new Item; 200 when the same public token is presented again (idempotent replay).
    return c.json(linked, created ? 201 : 200)
  },
)

function linkMetadata(metadata: {
  institution?: v.InferOutput<typeof LinkInstitution> | null
  accounts?: { name: string; mask?: string | null }[]
}): LinkMetadata {
  const { institution, accounts } = metadata
  return {
    institution: institution
      ? { institution_id: institution.institution_id ?? undefined, name: institution.name ?? undefined }
      : undefined,
    accounts: accounts?.map((a) => ({ name: a.name, mask: a.mask ?? null })),
  }
}
