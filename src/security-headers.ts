import { createMiddleware } from 'hono/factory'
import type { AppEnv } from './types'

/**
 * The headers every answer carries. They are the ones hono's secureHeaders() sets by default,
 * with a policy for an API that answers JSON only (nothing may be framed, run or embedded from
 * it) and `same-site` resources; written out as a fixed list because the API needs no option,
 * nonce or report endpoint, and secureHeaders' builder for those is most of its size.
 */
const SECURITY_HEADERS: [string, string][] = [
  ['Cross-Origin-Resource-Policy', 'same-site'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  // Answers carry account data: no shared or browser cache may keep them.
  ['Cache-Control', 'no-store'],
]

export const securityHeaders = createMiddleware<AppEnv>(async function securityHeaders(c, next) {
  await next()
  for (const [name, value] of SECURITY_HEADERS) c.res.headers.set(name, value)
  c.res.headers.delete('X-Powered-By')
})
