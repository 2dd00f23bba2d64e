/**
 * Plaid's webhook signing: each tenant's ES256 keys (what `/webhook_verification_key/get` serves)
 * and the `Plaid-Verification` JWT over the exact body bytes.
 */
import { base64Url } from '../base64'

/** One signing key. Times are Unix seconds, as JWKPublicKey has them. */
export type SigningKey = {
  kid: string
  privateKey: CryptoKey
  x: string
  y: string
  createdAt: number
  expiredAt: number | null
}

/** A signing key as the state file keeps it. */
export type ExportedSigningKey = { kid: string; jwk: JsonWebKey; createdAt: number; expiredAt: number | null }

const seconds = (ms: number) => Math.floor(ms / 1000)
const encoder = new TextEncoder()
// Workers' types return a union for every format; 'jwk' always gives a JsonWebKey.
const exportJwk = async (key: CryptoKey) => (await crypto.subtle.exportKey('jwk', key)) as JsonWebKey

/**
 * A tenant's signing keys, oldest first; the last is current. Keys are generated on first use and
 * are per tenant, so another client's key id is as unknown here as a key from another environment.
 */
export class WebhookKeys {
  private readonly keys: SigningKey[] = []
  private first: Promise<SigningKey> | undefined
  /** `/webhook_verification_key/get` calls by the key_id asked for, known or not. */
  readonly lookups = new Map<string, number>()

  constructor(private readonly now: () => number) {}

  /** The key that signs webhooks now (created on first use). */
  current(): Promise<SigningKey> {
    const last = this.keys.at(-1)
    if (last) return Promise.resolve(last)
    // Concurrent first calls share one key rather than racing to create two.
    this.first ??= this.create()
    return this.first
  }

  /** The key that was current before the last rotation. */
  previous(): SigningKey | undefined {
    return this.keys.at(-2)
  }

  /** What `/webhook_verification_key/get` serves for `kid`, counted so tests can see how often a receiver asked. */
  lookUp(kid: string): SigningKey | undefined {
    this.lookups.set(kid, (this.lookups.get(kid) ?? 0) + 1)
    return this.keys.find((k) => k.kid === kid)
  }

  all(): readonly SigningKey[] {
    return this.keys
  }

  /** The keys, private parts included, as JWKs (for the emulator's saved state, emulator/snapshot.ts). */
  async export(): Promise<ExportedSigningKey[]> {
    return Promise.all(
      this.keys.map(async ({ privateKey, kid, createdAt, expiredAt }) => ({
        kid,
        jwk: await exportJwk(privateKey),
        createdAt,
        expiredAt,
      })),
    )
  }

  /** Puts back keys that export() gave, oldest first, after any this tenant has already. */
  async import(keys: readonly ExportedSigningKey[]): Promise<void> {
    for (const { kid, jwk, createdAt, expiredAt } of keys) {
      const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
      ])
      if (!jwk.x || !jwk.y) throw new Error(`signing key ${kid} has no public coordinates`)
      this.keys.push({ kid, privateKey, x: jwk.x, y: jwk.y, createdAt, expiredAt })
    }
  }

  /** A new current key; the old one stays valid unless `expirePrevious` expires it now. */
  async rotate(expirePrevious: boolean): Promise<SigningKey> {
    const previous = await this.current()
    const key = await this.create()
    if (expirePrevious) previous.expiredAt = seconds(this.now())
    return key
  }

  private async create(): Promise<SigningKey> {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair
    const { x, y } = await exportJwk(pair.publicKey)
    if (!x || !y) throw new Error('WebCrypto exported a P-256 key without coordinates')
    const key = {
      kid: crypto.randomUUID(),
      privateKey: pair.privateKey,
      x,
      y,
      createdAt: seconds(this.now()),
      expiredAt: null,
    }
    this.keys.push(key)
    return key
  }
}

/** The spec's JWKPublicKey. */
export function jwkPublicKey(key: SigningKey) {
  return {
    alg: 'ES256',
    created_at: key.createdAt,
    crv: 'P-256',
    expired_at: key.expiredAt,
    kid: key.kid,
    kty: 'EC',
    use: 'sig',
    x: key.x,
    y: key.y,
  }
}

/** Lower-case hex SHA-256 of a string's UTF-8 encoding (the JWT's request_body_sha256). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * The `Plaid-Verification` header for `body`: a JWT whose header is {alg, kid, typ} and whose
 * payload is {iat, request_body_sha256}, signed with ES256 (WebCrypto's ECDSA signature is already
 * the raw r||s JWS wants). `kid` and `alg` can be overridden to forge headers; the signature is
 * always the key's ES256 one.
 */
export async function signWebhook(
  body: string,
  key: SigningKey,
  claims: { iat: number; kid?: string; alg?: string },
): Promise<string> {
  const header = base64Url(
    encoder.encode(JSON.stringify({ alg: claims.alg ?? 'ES256', kid: claims.kid ?? key.kid, typ: 'JWT' })),
  )
  const payload = base64Url(
    encoder.encode(JSON.stringify({ iat: claims.iat, request_body_sha256: await sha256Hex(body) })),
  )
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    encoder.encode(`${header}.${payload}`),
  )
  return `${header}.${payload}.${base64Url(signature)}`
}
