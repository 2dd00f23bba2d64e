/**
 * valibot schemas to the JSON Schema (2020-12, as OpenAPI 3.1 takes it) of the document, at build
 * time. Named schemas become `#/components/schemas/<name>` wherever they are used.
 */
import { type ConversionConfig, toJsonSchema, toJsonSchemaDefs } from '@valibot/to-json-schema'
import type * as v from 'valibot'
import type { JsonSchema } from '../routes/input'

type Named = Record<string, v.GenericSchema>

const configFor = (named: Named): ConversionConfig => ({
  target: 'draft-2020-12',
  definitions: named,
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  // An action with no JSON Schema form of its own (a check, a transform) says what it means with
  // `documented` (src/routes/input.ts); without that, the conversion throws.
  overrideAction: ({ valibotAction, jsonSchema }) =>
    'toJsonSchema' in valibotAction
      ? (valibotAction.toJsonSchema as (schema: JsonSchema) => JsonSchema)(jsonSchema as JsonSchema)
      : undefined,
})

/** The components' schemas. */
export function componentSchemas(named: Named): Record<string, JsonSchema> {
  const defs = toJsonSchemaDefs(named, configFor(named)) as Record<string, JsonSchema>
  return Object.fromEntries(Object.entries(defs).map(([name, schema]) => [name, tidy(schema)]))
}

/** One schema, whose named parts are references to the components. */
export function jsonSchemaOf(schema: v.GenericSchema, named: Named): JsonSchema {
  const { $schema: _, $defs: __, ...rest } = toJsonSchema(schema, configFor(named)) as JsonSchema
  return tidy(rest)
}

/**
 * The converter's output, as a person would write it: `"type": ["string", "null"]` for a nullable
 * value (not an `anyOf` with null), and no empty `required` list.
 */
function tidy(node: unknown): JsonSchema {
  if (Array.isArray(node)) return node.map(tidy) as unknown as JsonSchema
  if (typeof node !== 'object' || node === null) return node as JsonSchema
  const schema = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, tidy(value)])) as JsonSchema
  if (Array.isArray(schema.required) && schema.required.length === 0) delete schema.required
  const options = schema.anyOf as JsonSchema[] | undefined
  if (options?.length === 2 && options[1]?.type === 'null' && typeof options[0]?.type === 'string') {
    const { anyOf: _, ...outer } = schema
    const inner = options[0]
    return {
      ...inner,
      ...outer,
      type: [inner.type, 'null'],
      ...(Array.isArray(inner.enum) && { enum: [...inner.enum, null] }),
    }
  }
  return schema
}
