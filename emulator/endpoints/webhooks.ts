/**
 * `/webhook_verification_key/get` and `/sandbox/item/fire_webhook`. Which webhook a code fires, and
 * what it does to the Item (ERROR puts it in ITEM_LOGIN_REQUIRED, LOGIN_REPAIRED heals it), lives
 * in itemWebhook so the control API can fire the same webhooks. Bodies are built in ../webhooks/bodies.ts.
 */
import type { Item } from '../model'
import { EmulatedPlaidError, invalidField, invalidInput, itemError } from '../plaid-error'
import type { EndpointRegistry } from '../registry'
import type { Tenant } from '../state'
import { checkFields, string, stringOf } from '../validate'
import {
  authDefaultUpdate,
  defaultUpdate,
  itemErrorWebhook,
  loginRepaired,
  newAccountsAvailable,
  pendingDisconnect,
  pendingExpiration,
  recurringTransactionsUpdate,
  syncUpdatesAvailable,
  userAccountRevoked,
  userPermissionRevoked,
  webhookUpdateAcknowledged,
} from '../webhooks/bodies'
import { jwkPublicKey } from '../webhooks/keys'

// The spec's WebhookType and SandboxItemFireWebhookRequest.webhook_code enums.
const WEBHOOK_TYPES = ['AUTH', 'HOLDINGS', 'INVESTMENTS_TRANSACTIONS', 'ITEM', 'LIABILITIES', 'TRANSACTIONS', 'ASSETS']
const FIRE_WEBHOOK_CODES = [
  'DEFAULT_UPDATE',
  'NEW_ACCOUNTS_AVAILABLE',
  'SMS_MICRODEPOSITS_VERIFICATION',
  'AUTHORIZATION_GRANTED',
  'USER_PERMISSION_REVOKED',
  'USER_ACCOUNT_REVOKED',
  'PENDING_DISCONNECT',
  'RECURRING_TRANSACTIONS_UPDATE',
  'LOGIN_REPAIRED',
  'SYNC_UPDATES_AVAILABLE',
  'PRODUCT_READY',
  'ERROR',
]
/** What the control API can fire: Plaid's Sandbox codes plus webhooks only real events send. */
export const CONTROL_WEBHOOK_CODES = [...FIRE_WEBHOOK_CODES, 'PENDING_EXPIRATION', 'WEBHOOK_UPDATE_ACKNOWLEDGED']

const WEEK_MS = 7 * 86_400_000

const sandboxError = (code: string, message: string) => new EmulatedPlaidError(400, 'SANDBOX_ERROR', code, message)
const productNotEnabled = (product: string) =>
  sandboxError('SANDBOX_PRODUCT_NOT_ENABLED', `The ${product} product is not enabled on this item`)
const notEmulated = (code: string, type: string) =>
  invalidField(`the emulator cannot fire ${type} ${code} webhooks (not modelled)`)

const PERMISSION_REVOKED_MESSAGE =
  'the holder of this account has revoked their permission for your application to access it'

export function webhookEndpoints(api: EndpointRegistry): void {
  // Keys are per client id: a key id from another client is unknown here, as one from another environment is at Plaid.
  api.post('/webhook_verification_key/get', (body, { tenant }) => {
    checkFields(body, { key_id: { required: true, rule: string } })
    const key = tenant.webhookKeys.lookUp(body.key_id as string)
    if (!key) throw invalidInput('INVALID_WEBHOOK_VERIFICATION_KEY_ID', 'invalid key_id provided')
    return { key: jwkPublicKey(key) }
  })

  api.post('/sandbox/item/fire_webhook', async (body, { tenant, webhooks }) => {
    checkFields(body, {
      access_token: { required: true, rule: string },
      webhook_type: { rule: stringOf(WEBHOOK_TYPES) },
      webhook_code: { required: true, rule: stringOf(FIRE_WEBHOOK_CODES) },
    })
    const item = tenant.itemForAccessToken(body.access_token as string)
    if (item.webhook === null) {
      throw sandboxError(
        'SANDBOX_WEBHOOK_INVALID',
        "Webhook for this item is either not set up, or invalid. Please update the item's webhook and try again.",
      )
    }
    const webhook = itemWebhook(tenant, item, body.webhook_code as string, body.webhook_type as string | undefined)
    // false for SYNC_UPDATES_AVAILABLE on an Item never synced: Plaid sends it only after the
    // first /transactions/sync, and the response says whether the webhook was fired.
    return { webhook_fired: await webhooks.send(tenant, item, webhook) }
  })
}

/**
 * The body of the webhook `code` (of `type`, else the code's usual type) for the Item, after
 * applying what the event means to the Item. Throws Plaid's error for a code the Item cannot
 * produce (SANDBOX_PRODUCT_NOT_ENABLED) or a type that does not go with the code.
 */
export function itemWebhook(
  tenant: Tenant,
  item: Item,
  code: string,
  type?: string,
): { webhook_code: string } & Record<string, unknown> {
  const usualType: Record<string, string> = {
    DEFAULT_UPDATE: 'TRANSACTIONS',
    SYNC_UPDATES_AVAILABLE: 'TRANSACTIONS',
    RECURRING_TRANSACTIONS_UPDATE: 'TRANSACTIONS',
    SMS_MICRODEPOSITS_VERIFICATION: 'AUTH',
    PRODUCT_READY: 'ASSETS',
  }
  const webhookType = type ?? usualType[code] ?? 'ITEM'
  const requireProduct = (product: string) => {
    if (!item.products.includes(product)) throw productNotEnabled(product)
  }
  const expectType = (...allowed: string[]) => {
    if (!allowed.includes(webhookType)) {
      throw invalidField(`webhook_type ${webhookType} cannot be used with webhook_code ${code}`)
    }
  }
  switch (code) {
    case 'SYNC_UPDATES_AVAILABLE':
      expectType('TRANSACTIONS')
      requireProduct('transactions')
      return syncUpdatesAvailable(item)
    case 'RECURRING_TRANSACTIONS_UPDATE':
      expectType('TRANSACTIONS')
      requireProduct('transactions')
      return recurringTransactionsUpdate(item)
    case 'DEFAULT_UPDATE':
      expectType('TRANSACTIONS', 'AUTH', 'HOLDINGS', 'INVESTMENTS_TRANSACTIONS', 'LIABILITIES')
      if (webhookType === 'TRANSACTIONS') {
        requireProduct('transactions')
        // Firing does not change the Item's data, so there is nothing new to report.
        return defaultUpdate(item, 0)
      }
      if (webhookType === 'AUTH') {
        requireProduct('auth')
        return authDefaultUpdate(item)
      }
      requireProduct(webhookType === 'LIABILITIES' ? 'liabilities' : 'investments')
      throw notEmulated(code, webhookType)
    case 'ERROR':
      expectType('ITEM', 'ASSETS')
      if (webhookType === 'ASSETS') {
        requireProduct('assets')
        throw notEmulated(code, webhookType)
      }
      return itemErrorWebhook(item, tenant.requireLogin(item))
    case 'LOGIN_REPAIRED':
      expectType('ITEM')
      tenant.repair(item)
      return loginRepaired(item)
    case 'NEW_ACCOUNTS_AVAILABLE':
      expectType('ITEM')
      return newAccountsAvailable(item)
    case 'PENDING_DISCONNECT':
      expectType('ITEM')
      return pendingDisconnect(item, tenant.now() + WEEK_MS)
    case 'PENDING_EXPIRATION':
      expectType('ITEM')
      return pendingExpiration(item, tenant.now() + WEEK_MS)
    case 'USER_PERMISSION_REVOKED': {
      expectType('ITEM')
      const body = userPermissionRevoked(item, itemError('USER_PERMISSION_REVOKED', PERMISSION_REVOKED_MESSAGE))
      // Plaid deletes the Item on revocation: every later call answers ITEM_NOT_FOUND.
      tenant.remove(item)
      return body
    }
    case 'USER_ACCOUNT_REVOKED': {
      expectType('ITEM')
      const account = item.accounts[0]
      if (!account) throw invalidField('the Item has no accounts')
      // The account is no longer shared: Plaid stops reporting it for the Item.
      item.accounts = item.accounts.filter((a) => a !== account)
      return userAccountRevoked(item, account.id)
    }
    case 'WEBHOOK_UPDATE_ACKNOWLEDGED':
      expectType('ITEM')
      return webhookUpdateAcknowledged(item, item.webhook ?? '')
    case 'PRODUCT_READY':
      expectType('ASSETS')
      requireProduct('assets')
      throw notEmulated(code, webhookType)
    default:
      // SMS_MICRODEPOSITS_VERIFICATION, AUTHORIZATION_GRANTED: need flows the emulator lacks.
      throw notEmulated(code, webhookType)
  }
}
