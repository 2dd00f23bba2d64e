/**
 * What each route accepts: the valibot schemas the routes check, and the one source of the OpenAPI
 * document's request bodies and parameters (src/openapi/ turns them into JSON Schema at build
 * time, so a limit written here is the limit documented). Kept apart from the handlers so the
 * build script can load them without the Worker's runtime.
 */
import * as v from 'valibot'
import { documented, jsonObject, objectMessage, openObject, plaidId, queryObject } from './input'

const text = (max: number) =>
  v.pipe(v.string('must be a string'), v.maxLength(max, `must be at most ${max} characters`))
const optionalText = (max: number) => v.optional(v.nullable(text(max)))

/** An Item in a path (`/items/{item_id}`). */
export const ItemIdParam = plaidId('item_id')

/** Identity providers' subjects: at most 255 characters (OpenID Connect Core, section 2). */
export const MAX_USER_ID = 255

const LinkTokenFields = jsonObject({
  item_id: v.optional(plaidId('item_id')),
  /** Update mode that lets the user share accounts they left out (NEW_ACCOUNTS_AVAILABLE). */
  account_selection: v.optional(v.boolean('account_selection must be true or false')),
})

export const LinkTokenBody = v.pipe(
  LinkTokenFields,
  documented(
    v.check(
      (body: v.InferOutput<typeof LinkTokenFields>) => !body.account_selection || body.item_id !== undefined,
      'account_selection needs item_id',
    ),
    (schema) => ({
      ...schema,
      if: { properties: { account_selection: { const: true } }, required: ['account_selection'] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable.
      then: { required: ['item_id'] },
    }),
  ),
)

/**
 * Link's `metadata.institution`. Plaid's spec requires neither field, and it is null after
 * micro-deposit verification: both are read when present, and neither is required.
 */
export const LinkInstitution = openObject(
  { institution_id: optionalText(64), name: optionalText(200) },
  objectMessage('must be an object with institution_id and name'),
)

/**
 * An account in Link's onSuccess metadata. Plaid's spec requires none of its fields; `name` is
 * required here, as Link always sends it and the duplicate check (same name and mask) needs it.
 */
const LinkAccount = openObject(
  {
    id: optionalText(128),
    name: text(200),
    mask: optionalText(16),
    type: optionalText(32),
    subtype: optionalText(64),
    verification_status: optionalText(64),
  },
  objectMessage('must be an account object'),
)

/** No login has more accounts than this; a longer list is not Link's. */
export const MAX_LINK_ACCOUNTS = 100

/**
 * Link's onSuccess metadata, passed on as the frontend got it: the fields used here are checked,
 * others (Link adds some over time) are accepted and ignored.
 */
export const LinkSuccessMetadata = openObject(
  {
    institution: v.optional(v.nullable(LinkInstitution)),
    accounts: v.optional(
      v.pipe(
        v.array(LinkAccount, 'must be an array'),
        v.maxLength(MAX_LINK_ACCOUNTS, 'lists more accounts than Link ever does'),
      ),
    ),
    link_session_id: optionalText(128),
    transfer_status: optionalText(64),
  },
  objectMessage('must be the metadata object from Link’s onSuccess'),
)

export const ACCEPTED_EXCHANGE_BODY =
  'send {"public_token": "public-...", "metadata": <the metadata object Link’s onSuccess gives>}'

const ExchangeFields = jsonObject({
  public_token: v.pipe(
    v.string('must be a string'),
    v.regex(/^public-(sandbox|production)-[A-Za-z0-9-]{1,200}$/, 'is not a Plaid public token'),
  ),
  metadata: v.optional(v.nullable(LinkSuccessMetadata)),
  // The older body: Link's metadata.institution on its own.
  institution: v.optional(v.nullable(LinkInstitution)),
})

/** What Plaid Link's onSuccess gives the frontend: the public token and its metadata. */
export const ExchangeBody = v.pipe(
  ExchangeFields,
  documented(
    v.check(
      (body: v.InferOutput<typeof ExchangeFields>) => !(body.metadata && body.institution),
      'send metadata or institution, not both',
    ),
    (schema) => ({
      ...schema,
      not: {
        required: ['metadata', 'institution'],
        properties: { metadata: { type: 'object' }, institution: { type: 'object' } },
      },
    }),
  ),
)

export const AccountsQuery = queryObject({
  item_id: v.optional(plaidId('item_id')),
  refresh: v.optional(v.picklist(['true', 'false'], 'refresh must be true or false')),
})

/** Whether a YYYY-MM-DD string names a day that exists: the format check alone lets 2024-02-31 through. */
const isCalendarDay = (value: string) => {
  const time = Date.parse(`${value}T00:00:00Z`)
  // Date.parse may roll an impossible day over into the next month; printing it back catches that.
  return !Number.isNaN(time) && new Date(time).toISOString().startsWith(value)
}

// abortPipeEarly: a value that is no date at all gets one message, not two.
const date = (name: string) =>
  v.config(
    v.pipe(
      v.string(),
      v.isoDate(`${name} must be a date (YYYY-MM-DD)`),
      // JSON Schema's `format: date` (RFC 3339 full-date) already means a day of the calendar.
      documented(v.check(isCalendarDay, `${name} is not a day of the calendar`), (schema) => schema),
    ),
    { abortPipeEarly: true },
  )

export const MAX_PAGE_SIZE = 500
export const DEFAULT_PAGE_SIZE = 100
const pageSizeMessage = `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`

export const TransactionsQuery = queryObject({
  item_id: v.optional(plaidId('item_id')),
  account_id: v.optional(plaidId('account_id')),
  start_date: v.optional(date('start_date')),
  end_date: v.optional(date('end_date')),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,4}$/, pageSizeMessage),
      // A query string carries text: the document states the integer it must spell.
      documented(v.transform(Number), () => ({ type: 'integer', default: DEFAULT_PAGE_SIZE })),
      v.minValue(1, pageSizeMessage),
      v.maxValue(MAX_PAGE_SIZE, pageSizeMessage),
    ),
  ),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(512))),
})

/** Plaid's webhooks are a few hundred bytes. */
export const MAX_WEBHOOK_BYTES = 64 * 1024

export const WebhookBody = openObject({
  webhook_type: v.pipe(v.string(), v.maxLength(64)),
  webhook_code: v.pipe(v.string(), v.maxLength(64)),
  item_id: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(128)))),
  /** USER_ACCOUNT_REVOKED: the account the user stopped sharing. */
  account_id: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(128)))),
  /** PENDING_EXPIRATION and PENDING_DISCONNECT: by when the user must reconnect (ISO 8601). */
  consent_expiration_time: v.optional(v.nullable(v.pipe(v.string(), v.isoTimestamp()))),
  disconnect_time: v.optional(v.nullable(v.pipe(v.string(), v.isoTimestamp()))),
  error: v.optional(v.nullable(openObject({ error_code: v.optional(v.nullable(v.string())) }))),
})
