/**
 * The control API, mounted at `/emulator`: not part of Plaid, but how tests and scripts drive the
 * emulator (faults, chaos, Items' state and transactions, webhooks and their keys, Link sessions
 * finished without a browser). Scoped to the client id in the PLAID-CLIENT-ID header (the local
 * default client's without one), except chaos, which applies to every client id. A refusal is
 * `{"error": ...}` with its status; the answers' shapes are in ./control-types.ts.
 */
import { type Context, Hono } from 'hono'
import { EMULATOR_CLIENT_ID } from '../src/dev-defaults'
import type { Chaos } from './chaos'
import type {
  ChaosSnapshot,
  FiredWebhook,
  ItemStatus,
  ItemSummary,
  LinkTokenSummary,
  LiveTransaction,
  TransactionsChanged,
  TransactionsReady,
  WebhookKeysState,
} from './control-types'
import { INSTITUTIONS } from './data/institutions'
import { linkedItem } from './endpoints/link'
import { renderTransaction } from './endpoints/transactions'
import { CONTROL_WEBHOOK_CODES, itemWebhook } from './endpoints/webhooks'
import { type Fault, parseFault } from './faults'
import type { Item } from './model'
import { EmulatedPlaidError } from './plaid-error'
import { driftBalances, isLoginRequired, isoSeconds, type Tenant, transactionLog } from './state'
import { syncUpdatesAvailable } from './webhooks/bodies'
import { jwkPublicKey, signWebhook } from './webhooks/keys'
import type { WebhookSender } from './webhooks/sender'

export type ControlOptions = {
  /** The tenant of a client id, created on first use. */
  tenant: (clientId: string) => Tenant
  chaos: Chaos
  webhooks: WebhookSender
}

/** The most changes one control call may append (keeps a typo from allocating forever). */
const MAX_CHANGES = 100_000

class ControlError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message)
  }
}

/** Refuses the control request: answered as `{"error": message}` with `status`. */
function refuse(status: ControlError['status'], message: string): never {
  throw new ControlError(status, message)
}

export function controlApp({ tenant, chaos, webhooks }: ControlOptions) {
  const tenantOf = (c: Context) => tenant(c.req.header('PLAID-CLIENT-ID') ?? EMULATOR_CLIENT_ID)

  /** The Item named in the path: it must exist for this client id and not be removed. */
  const liveItem = (c: Context): { t: Tenant; item: Item } => {
    const t = tenantOf(c)
    const item = t.items.get(c.req.param('item_id') ?? '')
    if (!item) refuse(404, 'no Item with this item_id for this client id')
    if (item.removed) refuse(409, 'the Item was removed')
    return { t, item }
  }

  /** Moves the Item in or out of a state by item_id (tests know item ids, not access tokens). */
  const itemAction = (change: (t: Tenant, item: Item) => void) => (c: Context) => {
    const { t, item } = liveItem(c)
    change(t, item)
    const { item_id, login_required, error_code } = itemSummary(item)
    return c.json<ItemStatus>({ item_id, login_required, error_code })
  }

  return (
    new Hono()
      .onError((error, c) => {
        if (error instanceof ControlError) return c.json({ error: error.message }, error.status)
        // A webhook the Item cannot produce: refused with the reason Plaid would give.
        if (error instanceof EmulatedPlaidError)
          return c.json({ error: error.message, error_code: error.errorCode }, 400)
        // A bug, not a refusal: Hono's default handler answers it with a bare 500.
        throw error
      })
      .get('/chaos', (c) => c.json<ChaosSnapshot>(chaos.snapshot()))
      .post('/chaos', async (c) => {
        const error = chaos.configure(await jsonObject(c))
        if (error !== undefined) refuse(400, error)
        return c.json<ChaosSnapshot>(chaos.snapshot())
      })
      .delete('/chaos', (c) => {
        chaos.reset()
        return c.body(null, 204)
      })
      .post('/faults', async (c) => {
        const input = await c.req.json().catch(() => undefined)
        const faults: Fault[] = []
        for (const item of Array.isArray(input) ? input : [input]) {
          const spec = parseFault(item)
          if (typeof spec === 'string') refuse(400, spec)
          faults.push({ ...spec, remaining: spec.times ?? 1, waiting: spec.after ?? 0 })
        }
        tenantOf(c).faults.push(...faults)
        return c.json({ faults: faults.length })
      })
      .delete('/faults', (c) => {
        tenantOf(c).faults.length = 0
        return c.body(null, 204)
      })
      // Link tokens as Plaid's /link/token/get would describe them: which Item an update-mode
      // session repairs, or which products a new one initializes.
      .get('/link-tokens', (c) => {
        const tokens = [...tenantOf(c).linkTokens].map(
          ([link_token, token]): LinkTokenSummary => ({
            link_token,
            client_user_id: token.clientUserId,
            webhook: token.webhook,
            redirect_uri: token.redirectUri,
            item_id: token.itemId,
            country_codes: token.countryCodes,
            products: token.products,
            required_if_supported_products: token.requiredIfSupportedProducts,
            optional_products: token.optionalProducts,
            additional_consented_products: token.additionalConsentedProducts,
            account_selection_enabled: token.accountSelection,
            days_requested: token.daysRequested ?? null,
          }),
        )
        return c.json({ link_tokens: tokens })
      })
      // The user finishes Link with this link token at an institution (Link is a browser flow, not
      // an API): a new Item (linkedItem) and the public token Link's onSuccess hands over.
      .post('/link-tokens/:link_token/finish', async (c) => {
        const input = await jsonObject(c)
        if (typeof input?.institution_id !== 'string') refuse(400, 'institution_id must be a string')
        const t = tenantOf(c)
        const token = t.linkTokens.get(c.req.param('link_token'))
        if (!token || t.now() >= token.expiresAt) refuse(404, 'no live link token by that name')
        if (token.itemId !== null) {
          refuse(409, 'an update-mode link token repairs its Item (POST /emulator/items/:item_id/repair)')
        }
        const institution = INSTITUTIONS.get(input.institution_id)
        if (!institution) refuse(404, 'no Sandbox institution with this institution_id')
        const linked = linkedItem(t, token, institution)
        if ('missing' in linked) {
          refuse(409, `Link does not offer this institution: it lacks ${linked.missing.join(', ')}`)
        }
        return c.json({ public_token: t.issuePublicToken(linked.item) })
      })
      .get('/calls', (c) => c.json(Object.fromEntries(tenantOf(c).calls)))
      .get('/items', (c) => c.json({ items: [...tenantOf(c).items.values()].map(itemSummary) }))
      .post(
        '/items/:item_id/login-required',
        itemAction((t, item) => t.requireLogin(item)),
      )
      .post(
        '/items/:item_id/repair',
        itemAction((t, item) => t.repair(item)),
      )
      // The Item removed at Plaid by other means (the user revoking access through Plaid, say).
      .post(
        '/items/:item_id/remove',
        itemAction((t, item) => t.remove(item)),
      )
      .post(
        '/items/:item_id/without-institution',
        itemAction((_t, item) => {
          item.institutionKnown = false
        }),
      )
      // Appends changes (additions, modifications, removals, and postings that settle pending ones;
      // optionally announced with SYNC_UPDATES_AVAILABLE).
      .post('/items/:item_id/transactions', async (c) => {
        const { t, item } = liveItem(c)
        const input = await objectBody(c)
        const counts = { add: 0, modify: 0, remove: 0, post: 0 }
        for (const key of ['add', 'modify', 'remove', 'post'] as const) {
          const value = input[key] ?? 0
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_CHANGES) {
            refuse(400, `${key} must be an integer from 0 to ${MAX_CHANGES}`)
          }
          counts[key] = value
        }
        const fireWebhook = input.fire_webhook ?? false
        if (typeof fireWebhook !== 'boolean') refuse(400, 'fire_webhook must be a boolean')
        if (fireWebhook && item.webhook === null) refuse(409, 'the Item has no webhook URL')
        const log = transactionLog(item)
        const pending = [...log.live.values()].filter((tx) => tx.pending).length
        if (counts.post > pending) refuse(409, `the Item has only ${pending} pending transactions to post`)
        const removable = log.live.size - counts.post + counts.add
        if (counts.remove > removable) refuse(409, `the Item has only ${removable} transactions to remove`)
        log.change(counts, t.now())
        // Plaid refreshes an Item's cached balances when it pulls new activity from the bank, and
        // reports them in /accounts/get and in the /transactions/sync pages of the accounts that
        // have transactions: the money moves in those accounts only.
        if (counts.add + counts.modify + counts.post > 0) driftBalances(item, (a) => log.accountIds.has(a.id))
        const fired = fireWebhook && (await webhooks.send(t, item, syncUpdatesAvailable(item)))
        return c.json<TransactionsChanged>({
          transactions: log.live.size,
          events: log.events.length,
          webhook_fired: fired,
        })
      })
      // The live set a correct client should hold.
      .get('/items/:item_id/transactions', (c) => {
        const { item } = liveItem(c)
        const live = [...transactionLog(item).live.values()]
        return c.json({ transactions: live.map((tx): LiveTransaction => renderTransaction(tx, false)) })
      })
      // Switches "data not ready" on and off.
      .post('/items/:item_id/transactions-ready', async (c) => {
        const { t, item } = liveItem(c)
        const { ready, fire_webhook: fireWebhook = false } = await objectBody(c)
        if (typeof ready !== 'boolean' || typeof fireWebhook !== 'boolean') {
          refuse(400, 'body must be {"ready": boolean, "fire_webhook"?: boolean}')
        }
        // Plaid announces finished pulls with SYNC_UPDATES_AVAILABLE; tests opt in to seeing that.
        const becameReady = ready && !item.transactionsReady
        item.transactionsReady = ready
        const fired = becameReady && fireWebhook && (await webhooks.send(t, item, syncUpdatesAvailable(item)))
        return c.json<TransactionsReady>({
          item_id: item.id,
          transactions_ready: item.transactionsReady,
          webhook_fired: fired,
        })
      })
      // Any Item webhook the emulator knows, including those /sandbox/item/fire_webhook cannot fire
      // (PENDING_EXPIRATION, WEBHOOK_UPDATE_ACKNOWLEDGED), with the same state changes.
      .post('/items/:item_id/fire-webhook', async (c) => {
        const { t, item } = liveItem(c)
        const { webhook_code: code, webhook_type: type } = await objectBody(c)
        if (typeof code !== 'string' || !CONTROL_WEBHOOK_CODES.includes(code)) {
          refuse(400, `webhook_code must be one of ${CONTROL_WEBHOOK_CODES.join(', ')}`)
        }
        if (type !== undefined && typeof type !== 'string') refuse(400, 'webhook_type must be a string')
        if (item.webhook === null) refuse(409, 'the Item has no webhook URL')
        const body = itemWebhook(t, item, code, type)
        return c.json<FiredWebhook>({ webhook: body, webhook_fired: await webhooks.send(t, item, body) })
      })
      // The outbox: the webhooks sent since the last call (tests), which it then forgets.
      .get('/webhooks', (c) => {
        if (!webhooks.outbox) refuse(409, 'the emulator delivers webhooks to their URLs (no outbox)')
        const outbox = tenantOf(c).webhookOutbox
        return c.json({ webhooks: outbox.splice(0, outbox.length) })
      })
      // The keys, and how often each key_id (known or made up) was asked for at /webhook_verification_key/get.
      .get('/webhook-keys', (c) => {
        const keys = tenantOf(c).webhookKeys
        return c.json<WebhookKeysState>({
          keys: keys.all().map(jwkPublicKey),
          lookups: Object.fromEntries(keys.lookups),
        })
      })
      .post('/webhook-keys/rotate', async (c) => {
        const input = await jsonObject(c)
        const expirePrevious = input?.expire_previous ?? false
        if (typeof expirePrevious !== 'boolean') refuse(400, 'expire_previous must be a boolean')
        const key = await tenantOf(c).webhookKeys.rotate(expirePrevious)
        return c.json({ key: jwkPublicKey(key) })
      })
      // Signs any body with this client's key, with header and claims open to forgery (stale iat,
      // another alg in the header, an unknown kid, the previous or expired key).
      .post('/webhooks/sign', async (c) => {
        const input = await jsonObject(c)
        const t = tenantOf(c)
        if (typeof input?.body !== 'string') refuse(400, 'body must be the webhook body as a string')
        const { kid, iat = Math.floor(t.now() / 1000), alg, key: which = 'current' } = input
        if (kid !== undefined && typeof kid !== 'string') refuse(400, 'kid must be a string')
        if (typeof iat !== 'number' || !Number.isInteger(iat)) refuse(400, 'iat must be an integer')
        if (alg !== undefined && typeof alg !== 'string') refuse(400, 'alg must be a string')
        if (which !== 'current' && which !== 'previous') refuse(400, 'key must be "current" or "previous"')
        const key = which === 'current' ? await t.webhookKeys.current() : t.webhookKeys.previous()
        if (!key) refuse(409, 'there is no previous key; rotate first')
        return c.json({ verification: await signWebhook(input.body, key, { iat, kid, alg }) })
      })
  )
}

/** The control API's typed routes, for Hono's `hc` client. */
export type ControlApp = ReturnType<typeof controlApp>

/** An Item as the control API lists it (not a Plaid shape). */
function itemSummary(item: Item): ItemSummary {
  return {
    item_id: item.id,
    institution_id: item.institution.id,
    access_token: item.accessToken,
    products: item.products,
    webhook: item.webhook,
    created_at: isoSeconds(item.createdAt),
    removed: item.removed,
    sync_called: item.syncCalled,
    login_required: isLoginRequired(item),
    error_code: item.error?.error.errorCode ?? null,
    account_ids: item.accounts.map((a) => a.id),
  }
}

/** The request's JSON object body; an empty body counts as {}. */
async function jsonObject(c: Context): Promise<Record<string, unknown> | undefined> {
  const text = await c.req.text()
  if (text.trim() === '') return {}
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** The request's JSON object body, which it must have. */
async function objectBody(c: Context): Promise<Record<string, unknown>> {
  return (await jsonObject(c)) ?? refuse(400, 'body must be a JSON object')
}
