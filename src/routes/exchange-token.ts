import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { serviceContext } from '../context'
import { exchangePublicToken } from '../services/linking'
import type { AppEnv } from '../types'
import { jsonObject, readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'

const optionalText = (max: number) => v.optional(v.nullable(v.pipe(v.string(), v.maxLength(max))))

/** What Plaid Link's onSuccess gives the frontend: the public token and (optionally) metadata. */
const ExchangeBody = jsonObject({
  public_token: v.pipe(
    v.string('public_token must be a string'),
    v.regex(/^public-(sandbox|production)-[A-Za-z0-9-]{1,200}$/, 'public_token is not a Plaid public token'),
  ),
  // Link's metadata.institution; other metadata fields are accepted and ignored.
  institution: v.optional(v.nullable(v.looseObject({ institution_id: optionalText(64), name: optionalText(200) }))),
})

export const exchangeTokenRoutes = new Hono<AppEnv>().post(
  '/exchange-token',
  operation('exchange public token'),
  requireUser,
  async (c) => {
    const body = await readJson(c, ExchangeBody)
    const institution = body.institution
      ? { institution_id: body.institution.institution_id ?? undefined, name: body.institution.name ?? undefined }
      : undefined
    const { created, ...linked } = await exchangePublicToken(
      serviceContext(c),
      c.get('userId'),
      body.public_token,
      institution,
      // A replay of a token already exchanged answers from D1 and costs no budget.
      () => limitPlaidCalls(c),
    )
    // 201 for a new Item; 200 when the same public token is presented again (idempotent replay).
    return c.json(linked, created ? 201 : 200)
  },
)
