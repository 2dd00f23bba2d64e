/** Plaid's OpenAPI 3.0 schemas as Ajv (draft-07) validators, and the spec reading the contract check needs. */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

export type JsonObject = Record<string, unknown>
const SCHEMA_REF = '#/components/schemas/'
export const PLAID_ERROR = { $ref: `${SCHEMA_REF}PlaidError` }

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
export const field = (value: unknown, key: string): unknown => (isObject(value) ? value[key] : undefined)

/** Turns OpenAPI 3.0 schemas into JSON Schema draft-07 for Ajv, one component at a time. */
export class SpecSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true })
  private readonly added = new Set<string>()
  private readonly compiled = new Map<unknown, ValidateFunction>()

  constructor(private readonly components: JsonObject) {
    addFormats(this.ajv)
  }

  /** Compiles on first use: the spec has ~2,300 schemas and a run touches a few dozen. */
  validator(schema: unknown): ValidateFunction {
    let validate = this.compiled.get(schema)
    if (!validate) {
      const refs = new Set<string>()
      const root = this.convert(schema, refs)
      // Ajv resolves $refs at compile time, so every schema reachable from this one must be added first.
      for (const name of refs) {
        if (this.added.has(name)) continue
        this.added.add(name)
        const component = this.components[name]
        if (component === undefined) throw new Error(`spec: ${SCHEMA_REF}${name} is referenced but not defined`)
        this.ajv.addSchema(this.convert(component, refs) as JsonObject, schemaId(name))
      }
      validate = this.ajv.compile(root as JsonObject)
      this.compiled.set(schema, validate)
    }
    return validate
  }

  /** Follows $refs to the schema they name; the unknown-field check reads the spec as written. */
  resolve(schema: unknown): JsonObject | undefined {
    let current = schema
    for (let depth = 0; depth < 32; depth++) {
      const ref = field(current, '$ref')
      if (typeof ref !== 'string') return isObject(current) ? current : undefined
      current = this.components[refName(ref)]
    }
    return undefined
  }

  // Walks by schema keyword, never blindly, because property names such as `example` or `format`
  // are data inside `properties`, not keywords to strip.
  private convert(node: unknown, refs: Set<string>): unknown {
    if (!isObject(node)) return node
    const out: JsonObject = {}
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-') || OPENAPI_ONLY.has(key)) continue
      if (key === '$ref' && typeof value === 'string') {
        const name = refName(value)
        refs.add(name)
        out.$ref = schemaId(name)
      } else if (key === 'properties' || key === 'patternProperties') {
        out[key] = isObject(value)
          ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, this.convert(sub, refs)]))
          : value
      } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf' || (key === 'items' && Array.isArray(value))) {
        out[key] = Array.isArray(value) ? value.map((sub) => this.convert(sub, refs)) : value
      } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
        out[key] = this.convert(value, refs)
      } else {
        out[key] = value
      }
    }
    // Formats Ajv has never heard of (Plaid uses e.g. `cognito_id`) are documentation, not rules;
    // registering them as always-valid keeps Ajv from warning or failing at compile time.
    if (typeof out.format === 'string' && !(out.format in this.ajv.formats)) this.ajv.addFormat(out.format, true)
    // OpenAPI 3.0 has boolean exclusiveMinimum/Maximum modifying minimum/maximum; draft-07 wants the bound itself.
    for (const [exclusive, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (typeof out[exclusive] !== 'boolean') continue
      if (out[exclusive] === true && typeof out[bound] === 'number') {
        out[exclusive] = out[bound]
        delete out[bound]
      } else {
        delete out[exclusive]
      }
    }
    return node.nullable === true ? allowNull(out) : out
  }
}

/** OpenAPI-only annotations that draft-07 does not define (`nullable` is rewritten by allowNull). */
const OPENAPI_ONLY = new Set(['nullable', 'example', 'deprecated', 'discriminator', 'externalDocs', 'xml'])

const refName = (ref: string): string => {
  if (!ref.startsWith(SCHEMA_REF)) throw new Error(`spec: unsupported $ref ${ref}`)
  return ref.slice(SCHEMA_REF.length)
}
// Ids only name schemas inside Ajv; nothing is ever fetched.
const schemaId = (name: string) => `plaid-spec:schemas/${name}`

/** OpenAPI 3.0 `nullable: true` means "or null"; draft-07 says that with a type list, enum entry or anyOf. */
function allowNull(schema: JsonObject): JsonObject {
  // A $ref or composition would reject null on its own, whatever sits beside it.
  if ('$ref' in schema || 'allOf' in schema || 'anyOf' in schema || 'oneOf' in schema) {
    return { anyOf: [schema, { type: 'null' }] }
  }
  const out = { ...schema }
  if (typeof out.type === 'string') out.type = [out.type, 'null']
  else if (Array.isArray(out.type) && !out.type.includes('null')) out.type = [...out.type, 'null']
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
  return out
}

/**
 * Every request field the schema does not list, as JSON pointers. Plaid rejects unknown fields,
 * so an extra or misspelled field is a real failure even though the schema would accept it.
 */
export function unknownFields(
  schemas: SpecSchemas,
  value: unknown,
  schema: unknown,
  at: string,
  found: string[],
): void {
  const resolved = schemas.resolve(schema)
  if (!resolved) return
  if (Array.isArray(value)) {
    const items = itemsOf(schemas, resolved)
    value.forEach((item, i) => {
      if (items) unknownFields(schemas, item, items, `${at}/${i}`, found)
    })
    return
  }
  if (!isObject(value)) return
  const known = knownProperties(schemas, resolved)
  if (!known) return
  for (const [key, item] of Object.entries(value)) {
    const property = known.get(key)
    if (property === undefined) found.push(`${at}/${key}`)
    else unknownFields(schemas, item, property, `${at}/${key}`, found)
  }
}

/** The properties a schema (with its allOf/anyOf/oneOf parts) lists, or undefined if it allows any key. */
function knownProperties(schemas: SpecSchemas, schema: JsonObject): Map<string, unknown> | undefined {
  const known = new Map<string, unknown>()
  let open = false
  const visit = (part: JsonObject | undefined, depth: number) => {
    if (!part || depth > 16) return
    const additional = part.additionalProperties
    if (additional !== undefined && additional !== false) open = true
    if (isObject(part.properties)) for (const [name, sub] of Object.entries(part.properties)) known.set(name, sub)
    for (const key of ['allOf', 'anyOf', 'oneOf']) {
      const list = part[key]
      if (Array.isArray(list)) for (const sub of list) visit(schemas.resolve(sub), depth + 1)
    }
  }
  visit(schema, 0)
  return open || known.size === 0 ? undefined : known
}

function itemsOf(schemas: SpecSchemas, schema: JsonObject): unknown {
  if (schema.items !== undefined) return schema.items
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[key]
    if (!Array.isArray(list)) continue
    for (const sub of list) {
      const items = schemas.resolve(sub)?.items
      if (items !== undefined) return items
    }
  }
  return undefined
}

export function ajvMessages(errors: ErrorObject[] | null | undefined): string[] {
  // allErrors makes oneOf/anyOf repeat the same complaint per branch; one line each is enough.
  return [...new Set((errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`))]
}

export function jsonSchemaOf(container: unknown): unknown {
  return field(field(field(container, 'content'), 'application/json'), 'schema')
}
