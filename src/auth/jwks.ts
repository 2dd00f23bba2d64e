/**
 * Keys of the identity provider (JWT_JWKS_URL), cached per isolate. hono/jwk's
 * `verifyWithJwks` fetches the JWKS on every call when given a URL, so it is given the cached
 * keys instead; a token whose kid is not among them (the provider rotated its keys) triggers at
 * most one refetch per interval, so unknown kids cannot make us hammer the provider.
 */
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws'

/** Keys are re-read this often even when every kid is known, to drop revoked ones. */
const MAX_AGE_MS = 10 * 60_000
/** At most one refetch for unknown kids per this interval. */
const REFETCH_INTERVAL_MS = 60_000
const FETCH_TIMEOUT_MS = 5_000

export class JwksUnavailableError extends Error {
  override name = 'JwksUnavailableError'
  constructor() {
    super("the identity provider's keys (JWT_JWKS_URL) could not be fetched")
  }
}

type Entry = { keys: HonoJsonWebKey[]; fetchedAt: number }
const cache = new Map<string, Entry>()
const inflight = new Map<string, Promise<Entry>>()

export async function jwksKeys(url: string, kid: string | undefined, now = Date.now()): Promise<HonoJsonWebKey[]> {
  const entry = cache.get(url)
  const stale = !entry || now - entry.fetchedAt > MAX_AGE_MS
  const unknownKid = entry && kid !== undefined && !entry.keys.some((k) => k.kid === kid)
  if (entry && !stale && !(unknownKid && now - entry.fetchedAt > REFETCH_INTERVAL_MS)) return entry.keys
  try {
    return (await fetchOnce(url, now)).keys
  } catch (error) {
    // A provider outage should not lock everyone out while a cached key set still exists.
    if (entry) return entry.keys
    throw error
  }
}

/** Concurrent requests share one fetch. */
function fetchOnce(url: string, now: number): Promise<Entry> {
  let pending = inflight.get(url)
  if (!pending) {
    pending = fetchKeys(url, now).finally(() => inflight.delete(url))
    inflight.set(url, pending)
  }
  return pending
}

async function fetchKeys(url: string, now: number): Promise<Entry> {
  let data: unknown
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
    if (!response.ok) throw new Error()
    data = await response.json()
  } catch {
    throw new JwksUnavailableError()
  }
  const keys = (data as { keys?: unknown }).keys
  if (!Array.isArray(keys)) throw new JwksUnavailableError()
  const entry = { keys: keys.filter((k): k is HonoJsonWebKey => typeof k === 'object' && k !== null), fetchedAt: now }
  cache.set(url, entry)
  return entry
}
