/** Numeric settings from environment variables, with one readable error per bad value. */

/** A positive number from the environment variable `name` (an integer with `integer`), or `fallback` if unset. */
export function positiveNumber(name: string, fallback: number, { integer = false } = {}): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (integer ? !Number.isInteger(value) || value <= 0 : !Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${raw}`)
  }
  return value
}

export const positiveInt = (name: string, fallback: number) => positiveNumber(name, fallback, { integer: true })
