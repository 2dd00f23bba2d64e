/**
 * Request validation the way Plaid does it: unknown fields, missing fields and wrongly typed
 * fields each get Plaid's own error code, so the API's error handling is exercised for real.
 */
import { invalidField, invalidRequest } from './plaid-error'

export type Rule = (value: unknown, name: string) => void
export type Shape = Record<string, { required?: boolean; rule?: Rule }>

export function checkFields(body: Record<string, unknown>, shape: Shape, prefix = ''): void {
  const unknown = Object.keys(body).filter((k) => !(k in shape))
  if (unknown.length > 0) {
    throw invalidRequest(
      'UNKNOWN_FIELDS',
      `the following fields are not recognized by this endpoint: ${unknown.map((k) => prefix + k).join(', ')}`,
    )
  }
  const missing = Object.entries(shape)
    .filter(([k, s]) => s.required && (body[k] === undefined || body[k] === null))
    .map(([k]) => prefix + k)
  if (missing.length > 0) {
    throw invalidRequest('MISSING_FIELDS', `the following required fields are missing: ${missing.join(', ')}`)
  }
  for (const [k, s] of Object.entries(shape)) {
    if (body[k] !== undefined && body[k] !== null && s.rule) s.rule(body[k], prefix + k)
  }
}

export const anything: Rule = () => {}

export const string: Rule = (value, name) => {
  if (typeof value !== 'string') throw invalidField(`${name} must be a string`)
}

export const stringUpTo =
  (maxLength: number): Rule =>
  (value, name) => {
    if (typeof value !== 'string' || value.length > maxLength) {
      throw invalidField(`${name} must be a string of at most ${maxLength} characters`)
    }
  }

export const nonEmptyString: Rule = (value, name) => {
  if (typeof value !== 'string' || value.length === 0) throw invalidField(`${name} must be a non-empty string`)
}

export const stringOf =
  (allowed: readonly string[]): Rule =>
  (value, name) => {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      throw invalidField(`${name} must be one of: ${allowed.join(', ')}`)
    }
  }

export const arrayOf =
  (item: Rule, { nonEmpty = false } = {}): Rule =>
  (value, name) => {
    if (!Array.isArray(value)) throw invalidField(`${name} must be an array`)
    if (nonEmpty && value.length === 0) throw invalidField(`${name} must not be empty`)
    for (const [i, v] of value.entries()) item(v, `${name}[${i}]`)
  }

export const object =
  (shape: Shape): Rule =>
  (value, name) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalidField(`${name} must be an object`)
    }
    checkFields(value as Record<string, unknown>, shape, `${name}.`)
  }

export const url: Rule = (value, name) => {
  nonEmptyString(value, name)
  try {
    const parsed = new URL(value as string)
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error()
  } catch {
    throw invalidField(`${name} must be a valid URL`)
  }
}

export const integer =
  (min: number, max: number): Rule =>
  (value, name) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalidField(`${name} must be an integer from ${min} to ${max}`)
    }
  }

export const boolean: Rule = (value, name) => {
  if (typeof value !== 'boolean') throw invalidField(`${name} must be a boolean`)
}

/** A calendar date as Plaid writes it: YYYY-MM-DD, and a real day (no 2024-02-30). */
export const date: Rule = (value, name) => {
  const time = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN
  // Date.parse may roll 2024-02-30 over to March 1; printing the date back catches that.
  const valid = !Number.isNaN(time) && new Date(time).toISOString().startsWith(value as string)
  if (!valid) throw invalidField(`${name} must be a date in the format YYYY-MM-DD`)
}

/** An RFC 3339 timestamp with a time zone, such as 2024-05-01T12:00:00Z. */
export const dateTime: Rule = (value, name) => {
  const valid =
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value) &&
    !Number.isNaN(Date.parse(value))
  if (!valid) throw invalidField(`${name} must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z`)
}
