/**
 * Verifies Plaid's `Plaid-Verification` header the way Plaid documents it
 * (https://plaid.com/docs/api/webhooks/webhook-verification/). Hand-written on WebCrypto rather
 * than with a JWT library because Plaid's rules are specific: ES256 only, a key fetched by kid
 * with its own expiry, a 5-minute `iat` window, and a hash of the exact body bytes.
 */
import { fromBase64Url } from '../crypto/base64url'
import { sha256Hex } from '../crypto/hash'
import type { PlaidClient } from './client'
import { PlaidApiError } from './errors'

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError'
}

/** Plaid's limit on webhook age. */
const MAX_AGE_SECONDS = 5 * 60
/** Tolerated clock difference for tokens that seem to come from the future. */
const CLOCK_SKEW_SECONDS = 60
/**
 * How long a cached live key is trusted before Plaid is asked again whether it has expired. An
 * isolate that never sees a webhook signed with Plaid's next key learns of the rotation only this way.
 */
const KEY_RECHECK_MS = 5 * 60_000
const MAX_CACHED_KEYS = 64

type CachedKey = { scope: string; kid: string; key: CryptoKey; expiredAt: number | null; checkedAt: number }
// Per isolate; scoped by Plaid host and client, so a key of one environment never verifies another's webhooks.
const keyCache = new Map<string, CachedKey>()
const cacheKey = (scope: string, kid: string) => `${scope}|${kid}`

/**
 * Key lookups in flight, by scope and kid. Plaid sends webhooks in bursts, so on an isolate with
 * nothing cached many arrive at once naming the same new kid: they share one call to Plaid and
 * only the first spends budget, else the burst would spend the budget meant for made-up kids and
 * be refused (rechecks, and re-reads of cached keys, share calls the same way). An entry leaves
 * when its call settles, so a failure is never reused.
 */
const keysInFlight = new Map<string, Promise<CachedKey>>()

function fetchKeyOnce(plaid: PlaidClient, scope: string, kid: string, nowMs: number): Promise<CachedKey> {
  const id = cacheKey(scope, kid)
  let pending = keysInFlight.get(id)
  if (!pending) {
    pending = fetchKey(plaid, scope, kid, nowMs).finally(() => keysInFlight.delete(id))
    keysInFlight.set(id, pending)
  }
  return pending
}

/** Lookups an unknown kid may cause, per scope per minute (isolate-local). */
const LOOKUPS_PER_MINUTE = 10
const lookups = new Map<string, { windowStart: number; count: number }>()

function spendLookup(scope: string, nowMs: number): boolean {
  const window = lookups.get(scope)
  if (!window || nowMs - window.windowStart >= 60_000) {
    lookups.set(scope, { windowStart: nowMs, count: 1 })
    return true
  }
  window.count++
  return window.count <= LOOKUPS_PER_MINUTE
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

function decodeJson(segment: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(fromBase64Url(segment)))
  } catch {
    throw new WebhookVerificationError('Plaid-Verification is not a JWT')
  }
  if (typeof value !== 'object' || value === null) throw new WebhookVerificationError('Plaid-Verification is not a JWT')
  return value as Record<string, unknown>
}

/**
 * Throws WebhookVerificationError unless `rawBody` (the bytes as received) was signed by Plaid within the last 5 minutes.
 * `scope` identifies the Plaid environment and client the keys belong to. Answers when Plaid signed
 * it (the verified `iat`, Unix seconds).
 */
export async function verifyPlaidWebhook(
  plaid: PlaidClient,
  scope: string,
  header: string | undefined,
  rawBody: Uint8Array,
  nowMs = Date.now(),
): Promise<{ signedAt: number }> {
  if (!header) throw new WebhookVerificationError('missing Plaid-Verification header')
  const parts = header.split('.')
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    throw new WebhookVerificationError('Plaid-Verification is not a JWT')
  }
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
  const jwtHeader = decodeJson(headerPart)
  // Checked before any key lookup: an attacker must not make us fetch keys for alg "none" or HS256.
  if (jwtHeader.alg !== 'ES256') throw new WebhookVerificationError('algorithm is not ES256')
  const kid = jwtHeader.kid
  if (typeof kid !== 'string' || kid === '' || kid.length > 128) throw new WebhookVerificationError('missing kid')

  const key = await verificationKey(plaid, scope, kid, nowMs)
  // Plaid's rule: a key with any expired_at is refused, even one dated ahead; Plaid sets it when
  // it retires the key, and a key it has retired must not vouch for anything.
  if (key.expiredAt !== null) throw new WebhookVerificationError('signing key has expired')
  const signature = fromBase64Url(signaturePart)
  const signed = await crypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.key,
    signature,
    encoder.encode(`${headerPart}.${payloadPart}`),
  )
  if (!signed) throw new WebhookVerificationError('signature does not match')

  const claims = decodeJson(payloadPart)
  const iat = claims.iat
  const now = nowMs / 1000
  if (typeof iat !== 'number') throw new WebhookVerificationError('missing iat')
  if (iat < now - MAX_AGE_SECONDS) throw new WebhookVerificationError('webhook is older than 5 minutes')
  if (iat > now + CLOCK_SKEW_SECONDS) throw new WebhookVerificationError('webhook is dated in the future')

  const expected = claims.request_body_sha256
  if (typeof expected !== 'string') throw new WebhookVerificationError('missing request_body_sha256')
  const actual = await sha256Hex(rawBody)
  // Constant-time, so the comparison does not reveal how much of a forged hash was right.
  const a = encoder.encode(actual)
  const b = encoder.encode(expected.toLowerCase())
  if (a.byteLength !== b.byteLength || !crypto.subtle.timingSafeEqual(a, b)) {
    throw new WebhookVerificationError('body does not match its signed hash')
  }
  return { signedAt: iat }
}

async function verificationKey(plaid: PlaidClient, scope: string, kid: string, nowMs: number): Promise<CachedKey> {
  const cached = keyCache.get(cacheKey(scope, kid))
  // Plaid never revives an expired key, so one seen expired is refused without asking again.
  if (cached && (cached.expiredAt !== null || nowMs - cached.checkedAt < KEY_RECHECK_MS)) return cached
  // A recheck spends no budget: only keys Plaid vouched for are cached, and each is asked about
  // again only when its interval has passed, so made-up kids cannot multiply rechecks. Were they
  // counted, a flood of made-up kids could keep an expired key trusted, or stop every genuine webhook.
  if (cached) return fetchKeyOnce(plaid, scope, kid, nowMs)
  const inFlight = keysInFlight.get(cacheKey(scope, kid))
  if (inFlight) return inFlight

  // Anyone can post a made-up kid; without a budget each one would cost a call to Plaid. Plaid
  // uses few keys, so a handful of lookups a minute is plenty, and Plaid retries what we refuse.
  if (!spendLookup(scope, nowMs)) throw new WebhookVerificationError('unknown signing key; lookup budget spent')
  const key = await fetchKeyOnce(plaid, scope, kid, nowMs)
  await refreshOtherKeys(plaid, scope, kid, nowMs)
  return key
}

/**
 * Plaid's recipe: a new kid means Plaid may have rotated, so the live keys already cached are read
 * again to learn whether they have expired. Done only once Plaid has vouched for the new kid (a
 * made-up one says nothing about rotation), and out of the same budget; keys it cannot reach wait
 * for their recheck.
 */
async function refreshOtherKeys(plaid: PlaidClient, scope: string, newKid: string, nowMs: number): Promise<void> {
  const stale: string[] = []
  for (const entry of keyCache.values()) {
    if (entry.scope !== scope || entry.kid === newKid || entry.expiredAt !== null) continue
    if (keysInFlight.has(cacheKey(scope, entry.kid))) continue
    if (!spendLookup(scope, nowMs)) break
    stale.push(entry.kid)
  }
  // This webhook is signed with the new key and does not depend on the answers: a key Plaid no
  // longer knows has left the cache, and one Plaid could not be asked about waits for its recheck.
  await Promise.all(stale.map((kid) => fetchKeyOnce(plaid, scope, kid, nowMs).catch(() => undefined)))
}

async function fetchKey(plaid: PlaidClient, scope: string, kid: string, nowMs: number): Promise<CachedKey> {
  const id = cacheKey(scope, kid)
  let jwk: Awaited<ReturnType<PlaidClient['getWebhookVerificationKey']>>
  try {
    jwk = await plaid.getWebhookVerificationKey(kid)
  } catch (error) {
    if (error instanceof PlaidApiError) {
      keyCache.delete(id)
      throw new WebhookVerificationError('unknown signing key')
    }
    throw error // Plaid unreachable: not the sender's fault; answer 5xx so Plaid retries
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.alg !== 'ES256') {
    keyCache.delete(id)
    throw new WebhookVerificationError('signing key is not an ES256 key')
  }
  const key = await crypto.subtle.importKey(
    'jwk',
    { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  )
  const entry = { scope, kid, key, expiredAt: jwk.expired_at, checkedAt: nowMs }
  keyCache.delete(id)
  if (keyCache.size >= MAX_CACHED_KEYS) keyCache.delete(keyCache.keys().next().value as string)
  keyCache.set(id, entry)
  return entry
}
