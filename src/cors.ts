import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { type Bindings, parseOrigins } from './config'

const cache = new Map<string, Set<string>>()

/** The listed origins; none while ALLOWED_ORIGINS is malformed (every route then answers 500 naming it). */
function allowedOrigins(env: Bindings): Set<string> {
  const raw = env.ALLOWED_ORIGINS?.trim() ?? ''
  let set = cache.get(raw)
  if (!set) {
    const parsed = raw === '' ? { origins: [] } : parseOrigins(raw)
    set = new Set('origins' in parsed ? parsed.origins : [])
    cache.set(raw, set)
  }
  return set
}

const shared = {
  allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
  // X-Request-Id lets the frontend correlate its own logs with ours (a sane one is kept as is).
  allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
  maxAge: 600,
}

// A browser hides every response header outside the CORS safelist from scripts unless it is
// exposed: without this the frontend could not honour Retry-After on a 429 or report our id.
const forAllowedOrigin = cors({ ...shared, origin: (origin) => origin, exposeHeaders: ['Retry-After', 'X-Request-Id'] })
// hono's cors sets Access-Control-Expose-Headers whatever the origin; other sites get nothing.
const forOtherOrigins = cors({ ...shared, origin: () => null })

/**
 * CORS for the browser frontend: only origins listed in ALLOWED_ORIGINS get the headers, so
 * any other site's scripts cannot read our answers. Parsed apart from the other settings so a
 * misconfigured Plaid secret still answers preflights.
 */
export const corsFromSettings: MiddlewareHandler = (c, next) => {
  const origin = c.req.header('Origin') ?? ''
  const allowed = allowedOrigins(c.env as Bindings).has(origin)
  return (allowed ? forAllowedOrigin : forOtherOrigins)(c, next)
}
