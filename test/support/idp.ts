/**
 * A stand-in identity provider for the tests (runs in Node beside the Plaid emulator): serves a
 * JWKS per tenant at https://idp.test/<tenant>/.well-known/jwks.json and signs tokens with
 * those keys, so JWKS verification is tested offline with real RS256 and ES256 signatures; its
 * JWKS can also be made slow or failing, as a provider's outage would be.
 */
import { Hono } from 'hono'

type Alg = 'RS256' | 'ES256'
/** How the tenant's JWKS misbehaves: answers after delay_ms, and/or with this HTTP status. */
type JwksFault = { delay_ms?: number; status?: number }
type KeyPair = { kid: string; alg: Alg; privateKey: CryptoKey; publicJwk: JsonWebKey & { kid: string; alg: Alg } }

const PARAMS: Record<Alg, RsaHashedKeyGenParams | EcKeyGenParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
}

const b64url = (bytes: Uint8Array | string) =>
  Buffer.from(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes).toString('base64url')

async function newKey(alg: Alg): Promise<KeyPair> {
  const pair = (await crypto.subtle.generateKey(PARAMS[alg], true, ['sign', 'verify'])) as CryptoKeyPair
  const kid = `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey)
  return { kid, alg, privateKey: pair.privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } as KeyPair['publicJwk'] }
}

export function createIdentityProvider() {
  const tenants = new Map<string, { keys: KeyPair[]; fetches: number; fault: JwksFault }>()
  const tenant = async (name: string) => {
    let t = tenants.get(name)
    if (!t) {
      t = { keys: [await newKey('RS256'), await newKey('ES256')], fetches: 0, fault: {} }
      tenants.set(name, t)
    }
    return t
  }
  const app = new Hono()
  app.get('/:tenant/.well-known/jwks.json', async (c) => {
    const t = await tenant(c.req.param('tenant'))
    t.fetches++
    const { delay_ms, status } = t.fault
    if (delay_ms) await new Promise((resolve) => setTimeout(resolve, delay_ms))
    if (status) return c.text('the identity provider is unavailable', status as 500)
    return c.json({ keys: t.keys.map((k) => k.publicJwk) })
  })
  // Makes the JWKS answer late, or with an error status, until set again ({} restores it).
  app.post('/:tenant/jwks-fault', async (c) => {
    ;(await tenant(c.req.param('tenant'))).fault = await c.req.json<JwksFault>()
    return c.json({ ok: true })
  })
  app.get('/:tenant/fetches', async (c) => c.json({ fetches: (await tenant(c.req.param('tenant'))).fetches }))
  // Adds a new key of the given algorithm (a provider's key rotation).
  app.post('/:tenant/rotate', async (c) => {
    const { alg } = await c.req.json<{ alg: Alg }>()
    const key = await newKey(alg)
    ;(await tenant(c.req.param('tenant'))).keys.push(key)
    return c.json({ kid: key.kid })
  })
  // Signs `claims` with the tenant's key for `alg` (or a throwaway key the JWKS does not list).
  app.post('/:tenant/sign', async (c) => {
    const { alg, claims, kid, unlisted } = await c.req.json<{
      alg: Alg
      claims: Record<string, unknown>
      kid?: string
      unlisted?: boolean
    }>()
    const t = await tenant(c.req.param('tenant'))
    const key = unlisted ? await newKey(alg) : (t.keys.filter((k) => k.alg === alg).at(-1) as KeyPair)
    const header = b64url(JSON.stringify({ alg, typ: 'JWT', kid: kid ?? key.kid }))
    const payload = b64url(JSON.stringify(claims))
    const algorithm = alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' }
    const signature = new Uint8Array(
      await crypto.subtle.sign(algorithm, key.privateKey, new TextEncoder().encode(`${header}.${payload}`)),
    )
    return c.json({ token: `${header}.${payload}.${b64url(signature)}` })
  })
  return app
}
