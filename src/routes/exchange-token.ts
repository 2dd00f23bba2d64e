import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { serviceContext } from '../context'
import { ApiError } from '../errors'
import { exchangePublicToken } from '../services/exchange'
import type { LinkMetadata } from '../services/link-storage'
import type { AppEnv } from '../types'
import { jsonObject, objectMessage, readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'

const text = (max: number) =>
  v.pipe(v.string('must be a string'), v.maxLength(max, `must be at most ${max} characters`))
const optionalText = (max: number) => v.optional(v.nullable(text(max)))

const LinkInstitution = v.looseObject(
  { institution_id: optionalText(64), name: optionalText(200) },
  objectMessage('must be an object with institution_id and name'),
)

/**
 * Link's onSuccess metadata, passed on as the frontend got it: the fields used here are checked,
 * others (Link adds some over time) are accepted and ignored.
 */
const LinkSuccessMetadata = v.looseObject(
  {
    institution: v.optional(v.nullable(LinkInstitution)),
    accounts: v.optional(
      v.pipe(
        v.array(
          v.looseObject(
            {
              id: optionalText(128),
              name: text(200),
              mask: optionalText(16),
              type: optionalText(32),
              subtype: optionalText(64),
              verification_status: optionalText(64),
            },
            objectMessage('must be an account object'),
          ),
          'must be an array',
        ),
        v.maxLength(100, 'lists more accounts than Link ever does'),
      ),
    ),
    link_session_id: optionalText(128),
    transfer_status: optionalText(64),
  },
  objectMessage('must be the metadata object from Link’s onSuccess'),
)

/** What Plaid Link's onSuccess gives the frontend: the public token and its metadata. */
const ExchangeBody = jsonObject({
  public_token: v.pipe(
    v.string('must be a string'),
    v.regex(/^public-(sandbox|production)-[A-Za-z0-9-]{1,200}$/, 'is not a Plaid public token'),
  ),
  metadata: v.optional(v.nullable(LinkSuccessMetadata)),
  // The older body: Link's metadata.institution on its own.
  institution: v.optional(v.nullable(LinkInstitution)),
})

const ACCEPTED_BODY = 'send {"public_token": "public-...", "metadata": <the metadata object Link’s onSuccess gives>}'

export const exchangeTokenRoutes = new Hono<AppEnv>().post(
  '/exchange-token',
  operation('exchange public token'),
  requireUser,
  async (c) => {
    const body = await readJson(c, ExchangeBody, { expected: ACCEPTED_BODY })
    if (body.metadata && body.institution) {
      throw new ApiError(422, `invalid body: send metadata or institution, not both; ${ACCEPTED_BODY}`)
    }
    const linkSessionId = body.metadata?.link_session_id
    // Plaid asks integrators to keep Link's session id for support: every line of this request has it.
    if (linkSessionId) c.set('log', c.get('log').with({ link_session_id: linkSessionId }))
    const { created, ...linked } = await exchangePublicToken(
      serviceContext(c),
      c.get('userId'),
      body.public_token,
      linkMetadata(body.metadata ?? { institution: body.institution }),
      // A replay of a token already exchanged is answered from the user's object (claimPublicToken,
      // then getItem; D1 only confirms the token is this user's) and costs no budget.
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
