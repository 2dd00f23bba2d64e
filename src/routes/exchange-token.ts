import { Hono } from 'hono/tiny'
import type * as v from 'valibot'
import { authenticateUser } from '../auth/bearer'
import { logOf, serviceContext } from '../context'
import { exchangePublicToken } from '../services/exchange'
import type { LinkMetadata } from '../services/link-storage'
import type { AppEnv } from '../types'
import { readJson } from './input'
import { endpoint } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { ACCEPTED_EXCHANGE_BODY, ExchangeBody, type LinkInstitution } from './schemas'

export const exchangeTokenRoutes = new Hono<AppEnv>().post(
  '/exchange-token',
  endpoint({ operation: 'exchange public token', caller: authenticateUser }, async (c) => {
    const body = await readJson(c, ExchangeBody, { expected: ACCEPTED_EXCHANGE_BODY })
    const linkSessionId = body.metadata?.link_session_id
    // Plaid asks integrators to keep Link's session id for support: every line of this request has it.
    if (linkSessionId) c.set('log', logOf(c).with({ link_session_id: linkSessionId }))
    const { created, ...linked } = await exchangePublicToken(
      serviceContext(c),
      c.get('userId'),
      body.public_token,
      linkMetadata(body.metadata ?? { institution: body.institution }),
      // A replay of a token already exchanged is answered from the user's object (claimPublicToken,
      // then getItem; D1 only confirms the token is this user's) and costs no budget.
      () => limitPlaidCalls(c),
    )
    logOf(c)('info', created ? 'item linked' : 'public token replayed', {
      item_id: linked.item.item_id,
      institution_id: linked.item.institution_id,
    })
    // 201 for a new Item; 200 when the same public token is presented again (idempotent replay).
    return c.json(linked, created ? 201 : 200)
  }),
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
