/** Readers for Plaid's JSON answers: a field of the wrong type reads as absent, never as a crash. */

export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export const nullableNumber = (value: unknown) => (typeof value === 'number' ? value : null)

export const nullableString = (value: unknown) => (typeof value === 'string' ? value : null)
