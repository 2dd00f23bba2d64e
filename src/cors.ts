import { cors } from 'hono/cors'
import type { Bindings } from './env'

const cache = new Map<string, Set<string>>()

function allowedOrigins(env: Bindings): Set<string> {
  const raw = env.ALLOWED_ORIGINS ?? ''
  let set = cache.get(raw)
  if (!set) {
    set = new Set(
      raw
        .split(',')
        .map((s) => s.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    )
    cache.set(raw, set)
  }
  return set
}

/**
 * CORS for the browser frontend: only origins listed in ALLOWED_ORIGINS get the headers, so
 * any other site's scripts cannot read our answers. Parsed apart from the other settings so a
 * misconfigured Plaid secret still answers preflights.
 */
export const corsFromSettings = cors({
  origin: (origin, c) => (allowedOrigins(c.env as Bindings).has(origin) ? origin : null),
  allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type'],
  maxAge: 600,
})
