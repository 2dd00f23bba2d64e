import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { serviceContext } from '../context'
import type { PlaidConfig } from '../env'
import type { LinkTokenCreateRequest } from '../plaid/types'
import { openAccessToken } from '../services/access-token'
import { requireItem } from '../services/linking'
import type { AppEnv } from '../types'
import { jsonObject, plaidId, readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'

/**
 * The `/link/token/create` body for this user: a new Item (products from the settings), or,
 * with an access token, update mode for an existing Item (Plaid wants no products then).
 */
export function linkTokenRequest(plaid: PlaidConfig, userId: string, accessToken?: string): LinkTokenCreateRequest {
  return {
    client_name: plaid.clientName,
    language: plaid.language,
    country_codes: plaid.countryCodes,
    user: { client_user_id: userId },
    ...(accessToken ? { access_token: accessToken } : { products: plaid.products }),
    ...(plaid.webhookUrl && { webhook: plaid.webhookUrl }),
    ...(plaid.redirectUri && { redirect_uri: plaid.redirectUri }),
  }
}

const LinkTokenBody = jsonObject({ item_id: v.optional(plaidId('item_id')) })

export const linkTokenRoutes = new Hono<AppEnv>().post(
  '/link-token',
  operation('create link token'),
  requireUser,
  async (c) => {
    const { config, plaid } = serviceContext(c)
    const userId = c.get('userId')
    const { item_id: itemId } = await readJson(c, LinkTokenBody, { optional: true })
    await limitPlaidCalls(c)
    const accessToken = itemId ? await openAccessToken(config, await requireItem(config, userId, itemId)) : undefined
    const created = await plaid.createLinkToken(linkTokenRequest(config.plaid, userId, accessToken))
    return c.json({ link_token: created.link_token, expiration: created.expiration })
  },
)
