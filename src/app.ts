import { Hono } from 'hono'
import { corsFromSettings } from './cors'
import { handleError } from './error-handler'
import { ApiError } from './errors'
import { openApiDocument } from './openapi'
import { accountRoutes } from './routes/accounts'
import { exchangeTokenRoutes } from './routes/exchange-token'
import { itemRoutes } from './routes/items'
import { linkTokenRoutes } from './routes/link-token'
import { transactionRoutes } from './routes/transactions'
import { webhookRoutes } from './routes/webhooks'
import type { AppEnv } from './types'

export const app = new Hono<AppEnv>()

// CORS first, so preflights and error answers alike carry the headers the browser needs.
app.use('*', corsFromSettings)

app.get('/healthz', (c) => c.json({ status: 'ok' }))
app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument))
app.route('/api/v1/banking', linkTokenRoutes)
app.route('/api/v1/banking', exchangeTokenRoutes)
app.route('/api/v1/banking', itemRoutes)
app.route('/api/v1/banking', accountRoutes)
app.route('/api/v1/banking', transactionRoutes)
app.route('/api/v1/banking', webhookRoutes)

answerWrongMethods(app)
app.notFound(() => {
  throw new ApiError(404, 'not found')
})
app.onError(handleError)

/**
 * Hono answers a known path with the wrong method as 404; clients deserve 405 with `Allow`.
 * Registered after every route, so it only catches what no route took.
 */
function answerWrongMethods(hono: Hono<AppEnv>): void {
  const methodsByPath = new Map<string, Set<string>>()
  for (const route of hono.routes) {
    if (route.method === 'ALL') continue
    const methods = methodsByPath.get(route.path) ?? new Set(['OPTIONS'])
    methods.add(route.method)
    if (route.method === 'GET') methods.add('HEAD')
    methodsByPath.set(route.path, methods)
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods].join(', ')
    hono.all(path, () => {
      throw new ApiError(405, 'method not allowed', { Allow: allow })
    })
  }
}
