/**
 * Bearer tokens signed by an identity provider (JWT_JWKS_URL): its keys, cached per isolate, and
 * the verification against them.
 *
 * The signature, `iss` and `aud` are checked by hono's `verifyWithJwks`, given the keys from
 * this cache (never a `jwks_uri`, which it would fetch on every request) and the pinned
 * algorithms; the time claims are left to ./time-claims.ts, which allows for clock skew.
 * The algorithm and kid are checked before any key lookup, and the keys are fetched before the
 * signature is checked, so an identity provider that cannot be reached stays a 500 rather than
 * one more 401. A failed check throws hono's JWT error, which src/auth/bearer.ts words.
 */
import { decode, verifyWithJwks } from 'hono/jwt'
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws'
import type { JWTPayload } from 'hono/utils/jwt/types'
import type { AuthConfig } from '../config'
import { UnauthorizedError } from '../errors'

/** Keys are re-read this often even when every kid is known, to drop revoked ones. */
const MAX_AGE_MS = 10 * 60_000
/** At most one fetch per this interval, failed ones included. */
const REFETCH_INTERVAL_MS = 60_000
const FETCH_TIMEOUT_MS = 5_000

export class JwksUnavailableError extends Error {
  override name = 'JwksUnavailableError'
  constructor() {
    super("the identity provider's keys (JWT_JWKS_URL) could not be fetched")
  }
}

/** The cache's clock, so tests can step past the refetch interval instead of waiting it out. */
export const jwksClock = { now: (): number => Date.now() }

type Entry = {
  /** The last key set fetched; kept through failed refetches, so an outage locks nobody out. */
  keys: HonoJsonWebKey[] | undefined
  fetchedAt: number
  /** When the last fetch started, whether or not it succeeded. */
  attemptedAt: number
}
const cache = new Map<string, Entry>()

type JwksAuth = Extract<AuthConfig, { mode: 'jwks' }>
type Verification = { iss?: string; aud?: string; exp: false; nbf: false; iat: false }

/**
 * The token's claims once its signature checks out against the provider's key for its kid.
 * `deadline` (epoch ms) caps the wait for the keys, so the request's own deadline holds.
 */
export async function verifyWithProviderKeys(
  token: string,
  auth: JwksAuth,
  verification: Verification,
  deadline: number | undefined,
): Promise<JWTPayload> {
  const { alg, kid } = decode(token).header
  // Before any key lookup, so a token with a foreign algorithm or no kid cannot make us fetch keys.
  if (!(auth.algs as string[]).includes(alg)) throw new UnauthorizedError('token algorithm is not accepted')
  if (typeof kid !== 'string') throw new UnauthorizedError('token has no kid header')
  const keys = await providerKeys(auth.jwksUrl, kid, deadline)
  if (!keys.some((k) => k.kid === kid)) throw new UnauthorizedError('token signing key is not known')
  return verifyWithJwks(token, { keys, allowedAlgorithms: auth.algs, verification })
}

async function providerKeys(url: string, kid: string, deadline: number | undefined): Promise<HonoJsonWebKey[]> {
  const now = jwksClock.now()
  const entry = cache.get(url)
  if (entry?.keys && now - entry.fetchedAt <= MAX_AGE_MS && entry.keys.some((k) => k.kid === kid)) return entry.keys
  // Neither a flood of unknown kids nor a provider outage may make every request wait on the
  // provider: within the interval after any attempt, the keys at hand are the answer.
  if (entry && now - entry.attemptedAt < REFETCH_INTERVAL_MS) {
    if (entry.keys) return entry.keys
    throw new JwksUnavailableError()
  }
  // The attempt is claimed before it is awaited, so requests arriving meanwhile answer from the
  // cache rather than fetching too; none waits on this request's fetch, since on Workers a
  // promise tied to a request that gets cancelled may never settle. With nothing cached yet (a
  // new isolate) each request fetches for itself: there is nothing else to answer with.
  if (entry) entry.attemptedAt = now
  const timeoutMs = Math.min(
    FETCH_TIMEOUT_MS,
    deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now(),
  )
  try {
    const keys = await fetchKeys(url, Math.max(1, timeoutMs))
    cache.set(url, { keys, fetchedAt: now, attemptedAt: now })
    return keys
  } catch (error) {
    const latest = cache.get(url)
    cache.set(url, {
      keys: latest?.keys,
      fetchedAt: latest?.fetchedAt ?? 0,
      attemptedAt: Math.max(now, latest?.attemptedAt ?? 0),
    })
    if (latest?.keys) return latest.keys
    throw error
  }
}

async function fetchKeys(url: string, timeoutMs: number): Promise<HonoJsonWebKey[]> {
  let data: unknown
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    if (!response.ok) throw new Error()
    data = await response.json()
  } catch {
    throw new JwksUnavailableError()
  }
  const keys = (data as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw new JwksUnavailableError()
  return keys.filter((k): k is HonoJsonWebKey => typeof k === 'object' && k !== null)
}
