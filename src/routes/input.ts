/**
 * Reading and validating request input. Valibot does the schema checks; this file adds what an
 * API needs around them: a size limit, a JSON content-type check, and one error shape, so every
 * bad input answers `{"detail": ...}` with 400, 413, 415 or 422.
 */
import type { Context } from 'hono'
import * as v from 'valibot'
import { ApiError } from '../errors'

/** Request bodies here are a few hundred bytes; anything near this is not a client of ours. */
export const MAX_BODY_BYTES = 16 * 1024

type Schema = v.GenericSchema

/**
 * The validated JSON body. With `optional`, an empty body counts as `{}` (the frontend posts to
 * link-token with a JSON content type and no body).
 */
export async function readJson<S extends Schema>(
  c: Context,
  schema: S,
  { optional = false, expected }: { optional?: boolean; expected?: string } = {},
): Promise<v.InferOutput<S>> {
  const text = decodeUtf8(await readBytes(c.req.raw))
  let data: unknown
  if (text.trim() === '') {
    if (!optional) throw new ApiError(400, 'request body is required (JSON)')
    data = {}
  } else {
    requireJsonContentType(c)
    try {
      data = JSON.parse(text)
    } catch {
      throw new ApiError(400, 'request body is not valid JSON')
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ApiError(422, withHint('invalid body: must be a JSON object', expected))
  }
  try {
    return validate(schema, data, 'body')
  } catch (error) {
    if (error instanceof ApiError && expected) throw new ApiError(error.status, withHint(error.message, expected))
    throw error
  }
}

/** A message that also says what would have been accepted. */
const withHint = (message: string, expected: string | undefined) => (expected ? `${message}; ${expected}` : message)

/** 415 unless the body is declared as JSON. */
export function requireJsonContentType(c: Context): void {
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(c.req.header('Content-Type') ?? '')) {
    throw new ApiError(415, 'request body must be JSON (Content-Type: application/json)')
  }
}

/** The validated query parameters (a queryObject schema: unknown ones are dropped). */
export function readQuery<S extends Schema>(c: Context, schema: S): v.InferOutput<S> {
  return validate(schema, c.req.query(), 'query')
}

export function validate<S extends Schema>(schema: S, data: unknown, where: string): v.InferOutput<S> {
  const result = v.safeParse(schema, data)
  if (result.success) return result.output
  // Valibot stops at the first unknown field; naming them all saves the caller a round trip per typo.
  const unknown = unknownFields(schema, data)
  const problems = result.issues
    .filter((issue) => issue.expected !== 'never')
    .slice(0, 5)
    .map((issue) => {
      const path = v.getDotPath(issue)
      return path ? `${path}: ${issue.message}` : issue.message
    })
  problems.unshift(...unknown.map((name) => `${name}: unknown field`))
  throw new ApiError(422, `invalid ${where}: ${problems.join('; ')}`)
}

/** The top-level fields of `data` that a strict object schema does not know (at most ten, each shortened). */
function unknownFields(schema: Schema, data: unknown): string[] {
  if (schema.type !== 'strict_object' || typeof data !== 'object' || data === null) return []
  const known = (schema as unknown as v.StrictObjectSchema<v.ObjectEntries, undefined>).entries
  const names = Object.keys(data).filter((key) => !Object.hasOwn(known, key))
  return names.slice(0, 10).map((name) => (name.length > 40 ? `${name.slice(0, 40)}…` : name))
}

/** The body's bytes, refusing more than `max` (413) however the sender declares its length. */
export async function readBytes(request: Request, max = MAX_BODY_BYTES): Promise<Uint8Array> {
  const tooLarge = () => new ApiError(413, `request body is larger than ${max / 1024} KB`)
  const declared = Number(request.headers.get('Content-Length') ?? 0)
  if (declared > max) throw tooLarge()
  if (!request.body) return new Uint8Array()
  // Content-Length can be absent (chunked) or wrong: count what actually arrives.
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    throw new ApiError(400, 'request body is not valid UTF-8')
  }
}

/** An object that rejects fields it does not know, naming them, so typos do not pass silently. */
export const jsonObject = <E extends v.ObjectEntries>(entries: E, message = objectMessage('must be an object')) =>
  objectsOnly(v.strictObject(entries, message))

/** An object whose other fields (a third party's, which it adds to over time) are accepted and ignored. */
export const openObject = <E extends v.ObjectEntries>(entries: E, message = objectMessage('must be an object')) =>
  objectsOnly(v.looseObject(entries, message))

/**
 * valibot's object schemas take an array for an object (`[]` has no field to refuse); JSON tells
 * them apart, the OpenAPI document says `type: object`, and so does the server. The wrapper keeps
 * the schema's type and entries (what validate() and the document builder read), and is built
 * with valibot's own schema helpers (`_standardSchema`, `_addIssue`), as its schemas are.
 */
function objectsOnly<S extends v.GenericSchema>(schema: S): S {
  return v._standardSchema<S>({
    ...schema,
    '~run'(dataset, config) {
      if (!Array.isArray(dataset.value)) return schema['~run'](dataset, config)
      v._addIssue(schema, 'type', dataset, config)
      return dataset as ReturnType<S['~run']>
    },
  })
}

/** A JSON Schema, as the OpenAPI document states it (built at build time: scripts/openapi.ts). */
export type JsonSchema = { [keyword: string]: unknown }

/**
 * A valibot action that has no JSON Schema form of its own (a `check` runs a function), with the
 * JSON Schema that says the same: the document builder (src/openapi/) applies it where the action
 * is, and refuses an action that has none, so no rule the server checks goes undocumented.
 */
export const documented = <A extends object>(action: A, toJsonSchema: (schema: JsonSchema) => JsonSchema) =>
  Object.assign(action, { toJsonSchema })

/**
 * Query parameters: the known ones validated, the others ignored (and left out of the output).
 * A query string is not only the app's: many HTTP clients add a cache-buster to GET requests
 * (`?_=1700000000`), and proxies and analytics tags add their own, so refusing what is unknown
 * would break clients that did nothing wrong. A body is the app's alone, so jsonObject still
 * refuses a field it does not know (a typo there would otherwise pass silently).
 */
export const queryObject = <E extends v.ObjectEntries>(entries: E) =>
  v.object(entries, objectMessage('must be an object'))

/**
 * The message of an object schema: `invalid` when the value is not such an object, and "is
 * required" for a missing field (valibot reports those with the object's message, at the field's path).
 */
export const objectMessage =
  (invalid: string) =>
  (issue: v.BaseIssue<unknown>): string => {
    if (issue.expected === 'never') return 'unknown field'
    return issue.received === 'undefined' && issue.path?.length ? 'is required' : invalid
  }

/** An id as Plaid issues them: short, printable, no separators that could smuggle anything. */
export const plaidId = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.minLength(1, `${what} must not be empty`),
    v.maxLength(128, `${what} is too long`),
    v.regex(/^[A-Za-z0-9_-]+$/, `${what} has characters Plaid ids never contain`),
  )
