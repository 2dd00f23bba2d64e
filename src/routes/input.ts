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
  { optional = false } = {},
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
    throw new ApiError(422, 'invalid body: must be a JSON object')
  }
  return validate(schema, data, 'body')
}

/** 415 unless the body is declared as JSON. */
export function requireJsonContentType(c: Context): void {
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(c.req.header('Content-Type') ?? '')) {
    throw new ApiError(415, 'request body must be JSON (Content-Type: application/json)')
  }
}

/** The validated query parameters. */
export function readQuery<S extends Schema>(c: Context, schema: S): v.InferOutput<S> {
  return validate(schema, c.req.query(), 'query')
}

export function validate<S extends Schema>(schema: S, data: unknown, where: string): v.InferOutput<S> {
  const result = v.safeParse(schema, data)
  if (result.success) return result.output
  const problems = result.issues.slice(0, 5).map((issue) => {
    const path = v.getDotPath(issue)
    return path ? `${path}: ${issue.message}` : issue.message
  })
  throw new ApiError(422, `invalid ${where}: ${problems.join('; ')}`)
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
export const jsonObject = <E extends v.ObjectEntries>(entries: E) =>
  v.strictObject(entries, (issue) => (issue.expected === 'never' ? 'unknown field' : 'must be an object'))

/** An id as Plaid issues them: short, printable, no separators that could smuggle anything. */
export const plaidId = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.minLength(1, `${what} must not be empty`),
    v.maxLength(128, `${what} is too long`),
    v.regex(/^[A-Za-z0-9_-]+$/, `${what} has characters Plaid ids never contain`),
  )
