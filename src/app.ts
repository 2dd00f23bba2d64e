import { requestId } from 'hono/request-id'
import { PatternRouter } from 'hono/router/pattern-router'
import { Hono } from 'hono/tiny'
import { getConfig } from './config'
import { corsFromSettings } from './cors'
import { handleError } from './error-handler'
import { ApiError, ConfigError } from './errors'
import { accountRoutes } from './routes/accounts'
import { exchangeTokenRoutes } from './routes/exchange-token'
import { itemRoutes } from './routes/items'
import { linkTokenRoutes } from './routes/link-token'
import { transactionRoutes } from './routes/transactions'
import { operatorRoutes, userRoutes } from './routes/users'
import { webhookRoutes } from './routes/webhooks'
import { securityHeaders } from './security-headers'
import type { AppEnv } from './types'

export const app = new Hono<AppEnv>()

// Request id first, so every later log line (logOf) and answer carries it; then CORS, so
// preflights and error answers alike carry the headers the browser needs; then security headers.
app.use('*', requestId({ limitLength: 128 }))
app.use('*', corsFromSettings)
app.use('*', securityHeaders)

// hono/tiny's router takes `/items/` for `/items`; a path the OpenAPI document does not list
// answers 404, so a client generated from it never comes to rely on one.
app.use('*', function noTrailingSlash(c, next) {
  return hasTrailingSlash(c.req.path) ? Promise.resolve(c.notFound()) : next()
})

// Liveness: the isolate answers. Readiness: it can also serve, which needs valid settings; a
// deploy with a missing secret is alive, yet every other route would answer 500.
app.get('/healthz', (c) => c.json({ status: 'ok' }))
app.get('/readyz', function readiness(c) {
  try {
    getConfig(c.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    // The probe's answer rather than a failed request: it names what to fix (never a value).
    return c.json({ detail: error.message, settings: error.settings }, 503)
  }
  return c.json({ status: 'ready' })
})
app.route('/api/v1/banking', linkTokenRoutes)
app.route('/api/v1/banking', exchangeTokenRoutes)
app.route('/api/v1/banking', itemRoutes)
app.route('/api/v1/banking', accountRoutes)
app.route('/api/v1/banking', transactionRoutes)
app.route('/api/v1/banking', webhookRoutes)
app.route('/api/v1/banking', userRoutes)
app.route('/api/v1/operator', operatorRoutes)

const allowedMethods = methodsByPath(app)
// Answered (not thrown) so the middleware above still adds its headers to the 404. Hono answers a
// known path with the wrong method as 404 too; clients deserve 405 with `Allow`.
app.notFound((c) => {
  const allow = hasTrailingSlash(c.req.path) ? undefined : allowedMethods(c.req.path)
  const error = allow ? new ApiError(405, 'method not allowed', { Allow: allow }) : new ApiError(404, 'not found')
  return handleError(error, c)
})
app.onError(handleError)

function hasTrailingSlash(path: string): boolean {
  return path.length > 1 && path.endsWith('/')
}

/**
 * The `Allow` list of each routed path, looked up only when no route took the request: kept out
 * of the app's own router, which tests its every entry on every request.
 */
function methodsByPath(hono: Hono<AppEnv>): (path: string) => string | undefined {
  const byPath = new Map<string, Set<string>>()
  for (const route of hono.routes) {
    if (route.method === 'ALL') continue
    const methods = byPath.get(route.path) ?? new Set(['OPTIONS'])
    methods.add(route.method)
    if (route.method === 'GET') methods.add('HEAD')
    byPath.set(route.path, methods)
  }
  const router = new PatternRouter<string>()
  for (const [path, methods] of byPath) router.add('ALL', path, [...methods].join(', '))
  return (path) => router.match('ALL', path)[0][0]?.[0]
}
