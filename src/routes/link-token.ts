import { Hono } from 'hono/tiny'
import { requireUser } from '../auth/bearer'
import type { Config, PlaidConfig } from '../config'
import { serviceContext, withDeadline } from '../context'
import { ApiError } from '../errors'
import { plaidClientUserId } from '../plaid/client-user-id'
import type { LinkTokenCreateRequest } from '../plaid/types'
import { openAccessToken } from '../services/access-token'
import { recordItemError, requireItem } from '../services/linking'
import { DEAD_STATUSES, type StoredItem } from '../store/items'
import type { AppEnv } from '../types'
import { readJson } from './input'
import { operation } from './operation'
import { limitPlaidCalls } from './rate-limit'
import { LinkTokenBody } from './schemas'

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

/**
 * The user's Item for update mode. A dead one (access revoked, or gone at Plaid) is refused before
 * Plaid is asked: update mode cannot bring it back, and Plaid says it may fail there.
 */
async function repairableItem(config: Config, userId: string, itemId: string): Promise<StoredItem> {
  const item = await requireItem(config, userId, itemId)
  if (DEAD_STATUSES.includes(item.status)) {
    throw new ApiError(
      409,
      'this Item can no longer be repaired in Link: remove it and link the bank again',
      {},
      { item_id: item.item_id, status: item.status },
    )
  }
  return item
}

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
    const item = body.item_id ? await repairableItem(config, userId, body.item_id) : undefined
    const update = item
      ? { accessToken: await openAccessToken(config, item), accountSelection: body.account_selection === true }
      : undefined
    const clientUserId = await plaidClientUserId(config.clientUserIdKey, userId)
    try {
      const created = await plaid.createLinkToken(linkTokenRequest(config.plaid, clientUserId, update))
      return c.json({ link_token: created.link_token, expiration: created.expiration })
    } catch (error) {
      // Plaid no longer knowing the Item is news about it: the Item is stored as disconnected.
      if (item) await recordItemError(config, item, error)
      throw error
    }
  },
)
