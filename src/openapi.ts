/**
 * The OpenAPI 3.1 description of this API, served at /api/v1/openapi.json so the frontend can
 * generate a client. A test checks that every route is documented and every documented route
 * exists, and that real answers match it.
 */

import { ENRICHED_FIELDS } from './store/columns'

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})
const json = (description: string, ref: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
})
const body = (ref: string, required = true) => ({
  required,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
})
/** What src/routes/input.ts accepts as a Plaid id (item_id, account_id). */
const plaidId = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }
const itemIdParam = { name: 'item_id', in: 'path', required: true, schema: plaidId }
const common = {
  '401': error(
    'Missing, malformed or wrongly signed bearer token, or one expired or not yet valid by more than the allowed clock skew',
  ),
  '500': error(
    'Server misconfigured, Plaid unreachable or too slow (`retryable`: true), or an unexpected answer from Plaid',
  ),
  '503': error(
    "The user's data from an earlier release is being moved to its new storage: try again after `Retry-After` seconds",
  ),
}
/** What a 400 from Plaid carries, and what the frontend does with it. */
const plaidErrorFields =
  '`error_code`, `error_type`, `request_id` and `retryable`; with `Retry-After` (seconds) when Plaid limited the rate'
const plaidError = { '400': error(`Plaid reported an error: ${plaidErrorFields}`) }
/** Routes with a JSON body answer 400 for a body that is not JSON as well as for Plaid's errors. */
const plaidOrBodyError = {
  '400': error(`Body is not valid JSON, or Plaid reported an error: ${plaidErrorFields}`),
}
const badInput = {
  '413': error('Body larger than 16 KB'),
  '415': error('Body is not JSON'),
  '422': error('Body or a listed query parameter does not match the schema (unknown body fields included)'),
}
const notFound = { '404': error('No such Item for this user') }
const badItemId = { '422': error('item_id is not a Plaid id (1 to 128 letters, digits, `_` or `-`)') }
const rateLimited = {
  '429': {
    ...error('Too many requests that reach Plaid for this user; Plaid was not called'),
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  },
}

const nullableString = { type: ['string', 'null'] }
const nullableNumber = { type: ['number', 'null'] }

type Response = { headers?: Record<string, unknown> } & Record<string, unknown>
type Operation = { parameters?: unknown[]; responses: Record<string, Response> } & Record<string, unknown>

/**
 * Every operation accepts X-Request-Id and every answer carries it (src/app.ts): added here to
 * each, rather than restated by hand where one could be forgotten.
 */
function withRequestIds(paths: Record<string, Record<string, Operation>>): Record<string, Record<string, Operation>> {
  const operation = (op: Operation): Operation => ({
    ...op,
    parameters: [...(op.parameters ?? []), { $ref: '#/components/parameters/RequestId' }],
    responses: Object.fromEntries(
      Object.entries(op.responses).map(([status, response]) => [
        status,
        { ...response, headers: { ...response.headers, 'X-Request-Id': { $ref: '#/components/headers/RequestId' } } },
      ]),
    ),
  })
  return Object.fromEntries(
    Object.entries(paths).map(([path, ops]) => [
      path,
      Object.fromEntries(Object.entries(ops).map(([method, op]) => [method, operation(op)])),
    ]),
  )
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Linked Accounts API',
    version: '1.0.0',
    description:
      'Bank linking through Plaid for signed-in users. Errors always have the shape `{"detail": "..."}`; errors ' +
      'Plaid reports answer 400 with `error_code`, `error_type`, `request_id` and `retryable` beside `detail`, ' +
      'and answers caused by Plaid (400 and 500) say in `retryable` whether the same request may succeed later ' +
      "(`Retry-After` says when, for Plaid's rate limits). Any path not " +
      'listed here answers 404 (`#/components/responses/NotFound`); a listed path with a method it does not ' +
      'list answers 405 with an `Allow` header (`#/components/responses/MethodNotAllowed`). Query parameters ' +
      'an operation does not list (such as a `_=<time>` cache-buster) are ignored; fields a request body ' +
      'does not list are refused with 422.',
  },
  // Relative: the API is served from the same origin as this document.
  servers: [{ url: '/', description: 'This Worker' }],
  security: [{ bearer: [] }],
  paths: withRequestIds({
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Readiness: 200 when the settings are valid, else 503 naming the settings to fix',
        security: [],
        responses: {
          '200': json('Ready to serve', 'Ready'),
          '503': json('Not ready: a setting or binding is missing or malformed (never its value)', 'NotReady'),
        },
      },
    },
    '/api/v1/banking/link-token': {
      post: {
        operationId: 'createLinkToken',
        summary: 'Create a Plaid Link token (new Item, or update mode with item_id)',
        requestBody: body('LinkTokenRequest', false),
        responses: {
          '200': json('Link token', 'LinkToken'),
          ...plaidOrBodyError,
          ...notFound,
          '409': error(
            'Update mode for an Item Plaid will not serve again (`status` permission_revoked or disconnected, with its `item_id`): remove it and link the bank again',
          ),
          ...badInput,
          ...rateLimited,
          ...common,
        },
      },
    },
    '/api/v1/banking/exchange-token': {
      post: {
        operationId: 'exchangePublicToken',
        summary: "Exchange Link's public token and store the new Item with its accounts",
        requestBody: body('ExchangeTokenRequest'),
        responses: {
          '201': json('Item linked', 'LinkedItem'),
          '200': json('The same public token again: the Item it created', 'LinkedItem'),
          '409': error(
            'Already linked: an Item of the same institution with an account of the same name and mask ' +
              '(`item_id` names the existing Item); or the public token is in use',
          ),
          ...plaidOrBodyError,
          ...badInput,
          ...rateLimited,
          ...common,
        },
      },
    },
    '/api/v1/banking/items': {
      get: {
        operationId: 'listItems',
        summary: "The user's Items with their status",
        responses: { '200': json('Items', 'ItemList'), ...common },
      },
    },
    '/api/v1/banking/items/{item_id}': {
      get: {
        operationId: 'getItem',
        summary: 'One Item of the user, with its status',
        parameters: [itemIdParam],
        responses: { '200': json('Item', 'ItemEnvelope'), ...notFound, ...badItemId, ...common },
      },
      delete: {
        operationId: 'removeItem',
        summary: 'Remove the Item at Plaid and delete it with its accounts',
        parameters: [itemIdParam],
        responses: { '204': { description: 'Removed' }, ...plaidError, ...notFound, ...badItemId, ...common },
      },
    },
    '/api/v1/banking/items/{item_id}/refresh': {
      post: {
        operationId: 'refreshItem',
        summary: "Re-read the Item's status and accounts from Plaid (call when update mode finishes)",
        parameters: [itemIdParam],
        responses: {
          '200': json('Item and accounts', 'LinkedItem'),
          ...plaidError,
          ...notFound,
          ...badItemId,
          ...rateLimited,
          ...common,
        },
      },
    },
    '/api/v1/banking/items/{item_id}/sync': {
      post: {
        operationId: 'syncTransactions',
        summary: "Bring the Item's transactions up to date now (webhooks do the same in the background)",
        parameters: [itemIdParam],
        responses: {
          '200': json('What changed', 'SyncResult'),
          '409': error('Other syncs of this Item kept moving its cursor; try again'),
          ...plaidError,
          ...notFound,
          ...badItemId,
          ...rateLimited,
          ...common,
        },
      },
    },
    '/api/v1/banking/transactions': {
      get: {
        operationId: 'listTransactions',
        summary: "The user's transactions, newest first, a page at a time",
        parameters: [
          { name: 'item_id', in: 'query', required: false, schema: plaidId },
          { name: 'account_id', in: 'query', required: false, schema: plaidId },
          {
            name: 'start_date',
            in: 'query',
            required: false,
            description: 'A calendar day (no 2024-02-31), at most `end_date`',
            schema: { type: 'string', format: 'date' },
          },
          {
            name: 'end_date',
            in: 'query',
            required: false,
            description: 'A calendar day, at least `start_date`',
            schema: { type: 'string', format: 'date' },
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            description: '`next_cursor` of the previous page',
            schema: { type: 'string', maxLength: 512 },
          },
        ],
        responses: {
          '200': json('A page of transactions', 'TransactionPage'),
          ...notFound,
          '422': error(
            'Query does not match the schema: an id that is no Plaid id, a date that is no calendar day, ' +
              '`start_date` after `end_date`, a `limit` outside 1 to 500, a cursor this API did not give out',
          ),
          ...common,
        },
      },
    },
    '/api/v1/banking/webhooks': {
      post: {
        operationId: 'receivePlaidWebhook',
        summary: 'Plaid calls this; verified with the Plaid-Verification header, then queued',
        security: [],
        parameters: [{ name: 'Plaid-Verification', in: 'header', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '200': json('Verified and queued', 'WebhookReceipt'),
          '400': error('Verified, but the body is not a JSON webhook'),
          '401': error('Verification failed: nothing was done'),
          '413': error('Body larger than 64 KB'),
          '415': error('Body is not JSON'),
          '422': error('Verified, but not shaped like a Plaid webhook'),
          '500': common['500'],
        },
      },
    },
    '/api/v1/banking/accounts': {
      get: {
        operationId: 'listAccounts',
        summary:
          'Accounts with balances as last seen (at linking, in every transactions sync, or by a live check); ' +
          'refresh=true checks live balances first, at most once per Item every 12 s',
        parameters: [
          { name: 'item_id', in: 'query', required: false, schema: plaidId },
          { name: 'refresh', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        responses: {
          '200': json('Accounts', 'AccountList'),
          ...plaidError,
          ...notFound,
          '422': badInput['422'],
          ...rateLimited,
          ...common,
        },
      },
    },
    '/api/v1/banking/users/me': {
      delete: {
        operationId: 'deleteMyData',
        summary:
          'Delete everything kept about the user: each Item removed at Plaid (one Plaid no longer knows counts as removed) and here, with its accounts and transactions. Idempotent: 204 again once done; after a failure, calling again finishes the job',
        responses: { '204': { description: 'Deleted' }, ...plaidError, ...rateLimited, ...common },
      },
    },
    '/api/v1/operator/users/{user_id}': {
      delete: {
        operationId: 'deleteUserData',
        summary:
          'The same deletion for an operator, for a user who cannot sign in. Requires OPERATOR_TOKEN as the bearer; answers 404 when the Worker has none',
        security: [{ operator: [] }],
        parameters: [
          {
            name: 'user_id',
            in: 'path',
            required: true,
            description: "The `sub` of the user's tokens",
            schema: { type: 'string', minLength: 1, maxLength: 255 },
          },
        ],
        responses: {
          '204': { description: 'Deleted' },
          ...plaidError,
          '401': error('Missing or wrong operator token'),
          '404': error('The operator routes are off (no OPERATOR_TOKEN)'),
          '422': error('user_id is longer than 255 characters'),
          '500': common['500'],
        },
      },
    },
  }),
  components: {
    securitySchemes: {
      operator: { type: 'http', scheme: 'bearer', description: 'The OPERATOR_TOKEN secret' },
      bearer: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'A JWT whose `sub` is the user id and which has an `exp`. `exp`, `nbf` and `iat` are checked with the ' +
          "server's allowance for clock skew (JWT_CLOCK_SKEW_SECONDS, 60 s unless configured)",
      },
    },
    parameters: {
      RequestId: {
        name: 'X-Request-Id',
        in: 'header',
        required: false,
        description:
          'Your id for this request, kept when it is at most 128 letters, digits, `-`, `_` or `=`; else a new one is made',
        schema: { type: 'string' },
      },
    },
    headers: {
      RequestId: {
        description: 'The id in every log line of this request: yours if it was kept, else a new one',
        schema: { type: 'string' },
      },
      Allow: { description: 'The methods the path accepts', schema: { type: 'string' } },
    },
    responses: {
      NotFound: {
        ...error('No such route'),
        headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
      },
      MethodNotAllowed: {
        ...error('The path exists, but not with this method'),
        headers: {
          Allow: { $ref: '#/components/headers/Allow' },
          'X-Request-Id': { $ref: '#/components/headers/RequestId' },
        },
      },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['detail'],
        properties: {
          detail: { type: 'string', description: 'For developers: log it, and show the user words of your own' },
          error_code: { type: 'string', description: "Plaid's error code (400 from Plaid)" },
          error_type: { type: 'string', description: "Plaid's error type (400 from Plaid)" },
          display_message: { type: 'string', description: 'Words Plaid suggests showing the user, when it has some' },
          request_id: { type: 'string', description: "Plaid's request id, for Plaid support" },
          item_id: {
            type: 'string',
            description: '409: the Item already linked, or the Item update mode cannot repair',
          },
          status: {
            type: 'string',
            description: '409 from update mode: the Item status that rules it out (permission_revoked, disconnected)',
          },
          retryable: {
            type: 'boolean',
            description:
              'On every answer caused by Plaid (400 and 500). `true`: the same request may succeed later: Plaid ' +
              'rate limited it (`RATE_LIMIT_EXCEEDED`, with `Retry-After`), the bank is down, not responding or not ' +
              'available (`INSTITUTION_DOWN`, `INSTITUTION_NOT_RESPONDING`, `INSTITUTION_NOT_AVAILABLE`), Plaid failed ' +
              'or is in maintenance (`INTERNAL_SERVER_ERROR`, `PLANNED_MAINTENANCE`, any 5xx), Plaid was unreachable ' +
              'or too slow, or a sync met changing data (`TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION`): try again ' +
              'after `Retry-After` seconds, else with backoff. `false`: it will fail the same way; act on ' +
              '`error_code` (`ITEM_LOGIN_REQUIRED`: update mode). Absent: not about Plaid (a setting, a bug).',
          },
        },
      },
      LinkTokenRequest: {
        type: 'object',
        additionalProperties: false,
        properties: {
          item_id: { ...plaidId, description: 'Launch Link in update mode for this Item' },
          account_selection: {
            type: 'boolean',
            description: 'With item_id: let the user share accounts they left out (new_accounts_available)',
          },
        },
        // account_selection: true is only meaningful in update mode, so it needs item_id.
        anyOf: [{ properties: { account_selection: { const: false } } }, { required: ['item_id'] }],
      },
      Ready: {
        type: 'object',
        required: ['status'],
        properties: { status: { type: 'string', const: 'ready' } },
      },
      NotReady: {
        type: 'object',
        required: ['detail', 'settings'],
        properties: {
          detail: { type: 'string', description: 'What is wrong with each setting and how to fix it' },
          settings: {
            type: 'array',
            items: { type: 'string' },
            minItems: 1,
            description: 'The names of the bad settings and bindings',
          },
        },
      },
      LinkToken: {
        type: 'object',
        required: ['link_token', 'expiration'],
        properties: { link_token: { type: 'string' }, expiration: { type: 'string', format: 'date-time' } },
      },
      ExchangeTokenRequest: {
        type: 'object',
        required: ['public_token'],
        additionalProperties: false,
        description: "Link's onSuccess: the public token, and either `institution` or the whole `metadata`",
        properties: {
          public_token: { type: 'string', pattern: '^public-(sandbox|production)-[A-Za-z0-9-]{1,200}$' },
          institution: {
            type: ['object', 'null'],
            description: "Link's `metadata.institution`",
            properties: {
              institution_id: { type: ['string', 'null'], maxLength: 64 },
              name: { type: ['string', 'null'], maxLength: 200 },
            },
          },
          metadata: { $ref: '#/components/schemas/LinkSuccessMetadata' },
        },
      },
      LinkSuccessMetadata: {
        type: 'object',
        description: "Link's onSuccess `metadata` as Link gives it, instead of `institution`",
        properties: {
          institution: {
            type: ['object', 'null'],
            required: ['name', 'institution_id'],
            properties: { name: { type: 'string' }, institution_id: { type: 'string' } },
          },
          accounts: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'name', 'type'],
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                mask: nullableString,
                type: { type: 'string' },
                subtype: nullableString,
                verification_status: nullableString,
              },
            },
          },
          link_session_id: { type: 'string' },
          transfer_status: nullableString,
        },
      },
      Item: {
        type: 'object',
        required: [
          'item_id',
          'institution_id',
          'institution_name',
          'status',
          'error_code',
          'new_accounts_available',
          'transactions_synced_at',
          'consent_expiration_time',
          'disconnect_time',
          'created_at',
          'updated_at',
        ],
        properties: {
          item_id: { type: 'string' },
          institution_id: nullableString,
          institution_name: nullableString,
          status: {
            type: 'string',
            enum: [
              'good',
              'login_required',
              'update_required',
              'pending_expiration',
              'pending_disconnect',
              'permission_revoked',
              'disconnected',
            ],
            description:
              '`login_required`, `update_required`, `pending_expiration` and `pending_disconnect`: offer update mode (POST link-token with item_id). `permission_revoked` and `disconnected`: Plaid will not serve the Item again; offer to remove it and link the bank again (update mode answers 409)',
          },
          error_code: nullableString,
          new_accounts_available: {
            type: 'boolean',
            description: 'Offer update mode with account_selection: the user has accounts they have not shared',
          },
          consent_expiration_time: {
            type: ['string', 'null'],
            format: 'date-time',
            description:
              "With `pending_expiration` (EU, UK): when the user's consent expires and the Item stops working; ask them to reconnect (update mode) before",
          },
          disconnect_time: {
            type: ['string', 'null'],
            format: 'date-time',
            description:
              'With `pending_disconnect` (US, CA): when the Item stops working unless the user reconnects (update mode) before',
          },
          transactions_synced_at: {
            ...nullableString,
            format: 'date-time',
            description:
              "When the Item's transactions were last brought up to date; null until its first sync (queued when it was linked) has run",
          },
          created_at: { type: 'string', format: 'date-time' },
          updated_at: { type: 'string', format: 'date-time' },
        },
      },
      Account: {
        type: 'object',
        required: ['account_id', 'item_id', 'name', 'type', 'balances', 'balances_updated_at'],
        properties: {
          account_id: { type: 'string' },
          item_id: { type: 'string' },
          name: { type: 'string' },
          official_name: nullableString,
          mask: nullableString,
          type: { type: 'string' },
          subtype: nullableString,
          balances: {
            type: 'object',
            properties: {
              available: nullableNumber,
              current: nullableNumber,
              limit: nullableNumber,
              iso_currency_code: nullableString,
              unofficial_currency_code: nullableString,
            },
          },
          balances_updated_at: { type: 'string', format: 'date-time' },
        },
      },
      ItemEnvelope: { type: 'object', required: ['item'], properties: { item: { $ref: '#/components/schemas/Item' } } },
      ItemList: {
        type: 'object',
        required: ['items'],
        properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Item' } } },
      },
      AccountList: {
        type: 'object',
        required: ['accounts'],
        properties: {
          accounts: { type: 'array', items: { $ref: '#/components/schemas/Account' } },
          balances_refresh: {
            type: 'array',
            description:
              'With refresh=true: how each Item fared. An Item whose check failed keeps its stored balances ' +
              '(see `balances_updated_at`) and its error is here; when every Item failed, the answer is that ' +
              'error instead (400 or 500, as any request)',
            items: { $ref: '#/components/schemas/BalanceRefresh' },
          },
        },
      },
      BalanceRefresh: {
        type: 'object',
        required: ['item_id', 'outcome'],
        properties: {
          item_id: plaidId,
          outcome: {
            type: 'string',
            enum: ['refreshed', 'cooling_down', 'failed'],
            description:
              '`refreshed`: live balances from the bank. `cooling_down`: the Item was checked less than 12 s ago ' +
              "(Plaid allows 5 checks per Item per minute), so its stored balances are that check's. `failed`: see `error`",
          },
          retry_after_seconds: {
            type: 'integer',
            minimum: 1,
            description: 'cooling_down: when the next live check of this Item is allowed',
          },
          http_status: { type: 'integer', description: 'failed: the status this error has on its own' },
          error: { $ref: '#/components/schemas/Error' },
        },
      },
      SyncResult: {
        type: 'object',
        required: ['added', 'modified', 'removed', 'status'],
        properties: {
          added: { type: 'integer' },
          modified: { type: 'integer' },
          removed: { type: 'integer' },
          status: { type: 'string', enum: ['synced', 'not_ready'], description: '`not_ready`: Plaid has no data yet' },
        },
      },
      Transaction: {
        type: 'object',
        description:
          "Plaid's `Transaction` as last synced, with its Item. Fields Plaid's enrichment fills in are null (or no " +
          'counterparties) when Plaid did not give them, and for transactions last synced before this API kept them.',
        required: [
          'transaction_id',
          'item_id',
          'account_id',
          'amount',
          'date',
          'pending',
          // Stored as one JSON column, answered always (null when Plaid gave none).
          ...ENRICHED_FIELDS,
        ],
        properties: {
          transaction_id: { type: 'string' },
          item_id: { type: 'string' },
          account_id: { type: 'string' },
          amount: { type: 'number', description: "Plaid's sign: positive is money out of the account" },
          iso_currency_code: nullableString,
          unofficial_currency_code: nullableString,
          date: { type: 'string', format: 'date', description: 'Posted date (pending: the day it occurred)' },
          datetime: { ...nullableString, format: 'date-time', description: 'When it posted, at banks that say' },
          authorized_date: {
            ...nullableString,
            format: 'date',
            description: 'When the user made it: Plaid recommends it over `date` for display',
          },
          authorized_datetime: { ...nullableString, format: 'date-time', description: 'When it was authorized' },
          name: nullableString,
          merchant_name: nullableString,
          merchant_entity_id: { ...nullableString, description: "Plaid's stable id of the merchant" },
          logo_url: { ...nullableString, description: "The merchant's logo, a 100×100 PNG" },
          website: nullableString,
          counterparties: {
            type: 'array',
            description: 'Who took part, as Plaid reads the description: the merchant, a marketplace or terminal...',
            items: { $ref: '#/components/schemas/Counterparty' },
          },
          location: {
            type: ['object', 'null'],
            description: 'Where it took place; every field null for online transactions',
            properties: {
              address: nullableString,
              city: nullableString,
              region: nullableString,
              postal_code: nullableString,
              country: nullableString,
              lat: nullableNumber,
              lon: nullableNumber,
              store_number: nullableString,
            },
          },
          pending: { type: 'boolean' },
          pending_transaction_id: {
            ...nullableString,
            description:
              'On a posted transaction: the pending one it replaced, which Plaid removed (and the API with it)',
          },
          payment_channel: { ...nullableString, description: '`online`, `in store` or `other`' },
          personal_finance_category: {
            type: ['object', 'null'],
            required: ['primary', 'detailed', 'confidence_level', 'version'],
            properties: {
              primary: { type: 'string' },
              detailed: { type: 'string' },
              confidence_level: {
                ...nullableString,
                description: '`VERY_HIGH`, `HIGH`, `MEDIUM`, `LOW` or `UNKNOWN`',
              },
              version: {
                ...nullableString,
                description: 'The taxonomy, `v1` or `v2`: compare categories only within one version',
              },
            },
          },
          personal_finance_category_icon_url: {
            ...nullableString,
            description: "The primary category's icon, a 100×100 PNG",
          },
          category: {
            type: ['object', 'null'],
            deprecated: true,
            description:
              "`personal_finance_category`'s `primary` and `detailed`, under the name earlier releases used; not " +
              "Plaid's deprecated `category` array. Read `personal_finance_category` instead.",
            properties: { primary: { type: 'string' }, detailed: { type: 'string' } },
          },
        },
      },
      Counterparty: {
        type: 'object',
        required: ['name', 'type', 'logo_url', 'website', 'entity_id', 'confidence_level'],
        properties: {
          name: { type: 'string' },
          type: {
            type: 'string',
            description:
              '`merchant`, `financial_institution`, `payment_app`, `marketplace`, `payment_terminal`, `income_source`',
          },
          logo_url: nullableString,
          website: nullableString,
          entity_id: nullableString,
          confidence_level: nullableString,
        },
      },
      TransactionPage: {
        type: 'object',
        required: ['transactions', 'next_cursor'],
        properties: {
          transactions: { type: 'array', items: { $ref: '#/components/schemas/Transaction' } },
          next_cursor: { type: ['string', 'null'], description: 'null on the last page' },
        },
      },
      WebhookReceipt: {
        type: 'object',
        required: ['received'],
        properties: { received: { type: 'boolean', const: true } },
      },
      LinkedItem: {
        type: 'object',
        required: ['item', 'accounts'],
        properties: {
          item: { $ref: '#/components/schemas/Item' },
          accounts: { type: 'array', items: { $ref: '#/components/schemas/Account' } },
          replaced_item_ids: {
            type: 'array',
            items: plaidId,
            description:
              "201 at a bank where a new Item ends the login's older ones (Chase): the user's older Items with the " +
              'same accounts, now removed at Plaid and here. Absent when none',
          },
        },
      },
    },
  },
}
