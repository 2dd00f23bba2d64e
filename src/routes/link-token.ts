import { Hono } from 'hono'
import { requireUser } from '../auth/bearer'
import { getConfig, type PlaidConfig } from '../env'
import { PlaidClient } from '../plaid/client'
import type { LinkTokenCreateRequest } from '../plaid/types'
import type { AppEnv } from '../types'
import { operation } from './operation'

/** The `/link/token/create` body for a new Item of this user, from the settings. */
export function newItemLinkTokenRequest(plaid: PlaidConfig, userId: string): LinkTokenCreateRequest {
  return {
    client_name: plaid.clientName,
    language: plaid.language,
    country_codes: plaid.countryCodes,
    user: { client_user_id: userId },
    products: plaid.products,
    ...(plaid.webhookUrl && { webhook: plaid.webhookUrl }),
    ...(plaid.redirectUri && { redirect_uri: plaid.redirectUri }),
  }
}

export const linkTokenRoutes = new Hono<AppEnv>().post(
  '/link-token',
  operation('create link token'),
  requireUser,
  async (c) => {
    const { plaid } = getConfig(c.env)
    const created = await new PlaidClient(plaid).createLinkToken(newItemLinkTokenRequest(plaid, c.get('userId')))
    return c.json({ link_token: created.link_token, expiration: created.expiration })
  },
)
