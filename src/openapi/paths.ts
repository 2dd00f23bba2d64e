/**
 * The operations of the document: what each route takes (generated from src/routes/schemas.ts)
 * and what it answers, with the prose a client needs.
 */
import type { JsonSchema } from '../routes/input'
import { MAX_BODY_BYTES } from '../routes/input'
import { AccountsQuery, ItemIdParam, MAX_USER_ID, MAX_WEBHOOK_BYTES, TransactionsQuery } from '../routes/schemas'
import { jsonSchemaOf } from './json-schema'
import { type Named, named } from './named'

type Response = { description: string; content?: unknown; headers?: Record<string, unknown> }
export type Operation = { parameters?: unknown[]; responses: Record<string, Response> } & Record<string, unknown>

const error = (description: string): Response => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})
const json = (description: string, ref: Named): Response => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
})
const body = (ref: Named, required = true) => ({
  required,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
})

/** A query schema's fields as OpenAPI query parameters, each with its description. */
function queryParameters(schema: Parameters<typeof jsonSchemaOf>[0], descriptions: Record<string, string> = {}) {
  const object = jsonSchemaOf(schema, named) as { properties: Record<string, JsonSchema>; required?: string[] }
  return Object.entries(object.properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: object.required?.includes(name) ?? false,
    ...(descriptions[name] && { description: descriptions[name] }),
    schema: property,
  }))
}

const itemIdParam = { name: 'item_id', in: 'path', required: true, schema: jsonSchemaOf(ItemIdParam, named) }
const kb = (bytes: number) => `${bytes / 1024} KB`
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
  '413': error(`Body larger than ${kb(MAX_BODY_BYTES)}`),
  '415': error('Body is not JSON'),
  '422': error('Body or a listed query parameter does not match the schema (unknown body fields included)'),
}
const notFound = { '404': error('No such Item for this user') }
const badItemId = { '422': error('item_id is not a Plaid id (see the parameter’s schema)') }
const rateLimited = {
  '429': {
    ...error('Too many requests that reach Plaid for this user; Plaid was not called'),
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  },
}

export const paths: Record<string, Record<string, Operation>> = {
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
      parameters: queryParameters(TransactionsQuery, {
        start_date: 'A calendar day (no 2024-02-31), at most `end_date`',
        end_date: 'A calendar day, at least `start_date`',
        limit: 'How many transactions a page holds',
        cursor: '`next_cursor` of the previous page',
      }),
      responses: {
        '200': json('A page of transactions', 'TransactionPage'),
        ...notFound,
        '422': error(
          'Query does not match the schema: an id that is no Plaid id, a date that is no calendar day, ' +
            '`start_date` after `end_date`, a `limit` out of its range, a cursor this API did not give out',
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
      requestBody: body('PlaidWebhook'),
      responses: {
        '200': json('Verified and queued', 'WebhookReceipt'),
        '400': error('Verified, but the body is not a JSON webhook'),
        '401': error('Verification failed: nothing was done'),
        '413': error(`Body larger than ${kb(MAX_WEBHOOK_BYTES)}`),
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
      parameters: queryParameters(AccountsQuery),
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
          schema: { type: 'string', minLength: 1, maxLength: MAX_USER_ID },
        },
      ],
      responses: {
        '204': { description: 'Deleted' },
        ...plaidError,
        '401': error('Missing or wrong operator token'),
        '404': error('The operator routes are off (no OPERATOR_TOKEN)'),
        '422': error('user_id is longer than its schema allows'),
        '500': common['500'],
      },
    },
  },
}
