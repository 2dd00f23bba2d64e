/**
 * The OpenAPI 3.1 description of this API, built at build time (`npm run openapi` writes it to
 * public/api/v1/openapi.json, which Workers Static Assets serve): request schemas come from the
 * schemas the routes check, so the document cannot promise what the server refuses.
 */
import type { JsonSchema } from '../routes/input'
import { componentSchemas } from './json-schema'
import { fieldDescriptions, named } from './named'
import { type Operation, paths } from './paths'

/**
 * Every operation accepts X-Request-Id and every answer carries it (src/app.ts): added here to
 * each, rather than restated by hand where one could be forgotten.
 */
function withRequestIds(all: Record<string, Record<string, Operation>>): Record<string, Record<string, Operation>> {
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
    Object.entries(all).map(([path, ops]) => [
      path,
      Object.fromEntries(Object.entries(ops).map(([method, op]) => [method, operation(op)])),
    ]),
  )
}

/** The components' schemas, with the prose of fieldDescriptions. */
function schemas(): Record<string, JsonSchema> {
  const all = componentSchemas(named)
  for (const [name, { description, fields = {} }] of Object.entries(fieldDescriptions)) {
    const schema = all[name] as JsonSchema & { properties: Record<string, JsonSchema> }
    if (description) schema.description = description
    for (const [field, text] of Object.entries(fields)) {
      if (!schema.properties[field]) throw new Error(`${name} has no field ${field} to describe`)
      schema.properties[field] = { ...schema.properties[field], description: text }
    }
  }
  return all
}

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }

export function buildOpenApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Linked Accounts API',
      version: '1.0.0',
      description:
        'Bank linking through Plaid for signed-in users. Errors always have the shape `{"detail": "..."}`; errors ' +
        'Plaid reports answer 400 with `error_code`, `error_type`, `request_id` and `retryable` beside `detail`, ' +
        'and answers caused by Plaid (400 and 500) say in `retryable` whether the same request may succeed later ' +
        "(`Retry-After` says when, for Plaid's rate limits). Any path not " +
        'listed here answers 404 (`#/components/responses/NotFound`), a listed path with a trailing slash included; ' +
        'a listed path with a method it does not list answers 405 with an `Allow` header ' +
        '(`#/components/responses/MethodNotAllowed`). Query parameters ' +
        'an operation does not list (such as a `_=<time>` cache-buster) are ignored; fields a request body ' +
        'does not list are refused with 422.',
    },
    // Relative: the API is served from the same origin as this document.
    servers: [{ url: '/', description: 'This Worker' }],
    security: [{ bearer: [] }],
    paths: withRequestIds(paths),
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
          description: 'No such route',
          content: errorContent,
          headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
        },
        MethodNotAllowed: {
          description: 'The path exists, but not with this method',
          content: errorContent,
          headers: {
            Allow: { $ref: '#/components/headers/Allow' },
            'X-Request-Id': { $ref: '#/components/headers/RequestId' },
          },
        },
      },
      schemas: schemas(),
    },
  }
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>
