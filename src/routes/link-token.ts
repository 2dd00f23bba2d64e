import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { requireUser } from '../auth/bearer'
import { serviceContext, withDeadline } from '../context'
import type { PlaidConfig } from '../env'
import { plaidClientUserId } from '../plaid/client-user-id'
import type { LinkTokenCreateRequest } from '../plaid/types'
import { openAccessToken } from '../services/access-token'
import { requireItem } from '../services/linking'
import type { AppEnv } from '../types'
import { jsonObject, plaidId, readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'

/**
 * The `/link/token/create` body for this user: a new Item (products and history from the
 * settings), or, with an access token, update mode for an existing Item (Plaid wants no products
 * then, the other product lists need `products` beside them, so they go with it, and an Item's
 * `days_requested` cannot change once it has Transactions, so it goes with them too).
 */
export function linkTokenRequest(
  plaid: PlaidConfig,
  /** plaidClientUserId's hash of the user id, never the id itself. */
  clientUserId: string,
  update?: { accessToken: string; accountSelection: boolean },
): LinkTokenCreateRequest {
  return {
    client_name: plaid.clientName,
    language: plaid.language,
    country_codes: plaid.countryCodes,
    user: { client_user_id: clientUserId },
    ...(update ? { access_token: update.accessToken } : newItemFields(plaid)),
    ...(update?.accountSelection && { update: { account_selection_enabled: true } }),
    ...(plaid.webhookUrl && { webhook: plaid.webhookUrl }),
    ...(plaid.redirectUri && { redirect_uri: plaid.redirectUri }),
  }
}

/**
 * What only a new Item is given: its products (only the lists that are set: Plaid is sent no
 * empty `optional_products` it was not asked for) and how much transaction history to fetch.
 */
function newItemFields(
  plaid: PlaidConfig,
): Pick<LinkTokenCreateRequest, 'products' | 'required_if_supported_products' | 'optional_products' | 'transactions'> {
  return {
    products: plaid.products,
    transactions: { days_requested: plaid.transactionsDaysRequested },
    ...(plaid.requiredIfSupportedProducts.length > 0 && {
      required_if_supported_products: plaid.requiredIfSupportedProducts,
    }),
    ...(plaid.optionalProducts.length > 0 && { optional_products: plaid.optionalProducts }),
  }
}

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
    const { config, plaid } = serviceContext(c)
    const userId = c.get('userId')
    const body = await readJson(c, LinkTokenBody, { optional: true })
    await limitPlaidCalls(c)
    const update = body.item_id
      ? {
          accessToken: await openAccessToken(config, await requireItem(config, userId, body.item_id)),
          accountSelection: body.account_selection === true,
        }
      : undefined
    const clientUserId = await plaidClientUserId(config.clientUserIdKey, userId)
    const created = await plaid.createLinkToken(linkTokenRequest(config.plaid, clientUserId, update))
    return c.json({ link_token: created.link_token, expiration: created.expiration })
  },
)
