/**
 * Seals Plaid access tokens for storage with AES-256-GCM (WebCrypto). The row's item and user
 * ids are bound in as additional data, so a sealed token copied into another row does not open.
 * Each sealed value records the id of its key (a fingerprint, not the key), so the key can be
 * rotated: old keys stay readable through TOKEN_ENCRYPTION_KEYS_OLD.
 */
import type { TokenKeys } from '../config'
import { sha256Hex } from './hash'

export class TokenCipherError extends Error {
  override name = 'TokenCipherError'
}

type Key = { id: string; key: CryptoKey }

const IV_BYTES = 12
const encoder = new TextEncoder()

export class TokenCipher {
  private constructor(
    private readonly current: Key,
    private readonly byId: Map<string, Key>,
  ) {}

  static async create(keys: TokenKeys): Promise<TokenCipher> {
    const current = await importKey(keys.current)
    const byId = new Map<string, Key>([[current.id, current]])
    for (const raw of keys.old) {
      const old = await importKey(raw)
      if (!byId.has(old.id)) byId.set(old.id, old)
    }
    return new TokenCipher(current, byId)
  }

  get currentKeyId(): string {
    return this.current.id
  }

  /** Ids of the old keys still configured: the rows sealed under them can be re-sealed. */
  get oldKeyIds(): string[] {
    return [...this.byId.keys()].filter((id) => id !== this.current.id)
  }

  async seal(plaintext: string, context: string): Promise<{ sealed: string; keyId: string }> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
    const ciphertext = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
      this.current.key,
      encoder.encode(plaintext),
    )
    const out = new Uint8Array(IV_BYTES + ciphertext.byteLength)
    out.set(iv)
    out.set(new Uint8Array(ciphertext), IV_BYTES)
    return { sealed: toBase64Url(out), keyId: this.current.id }
  }

  async open(sealed: string, keyId: string, context: string): Promise<string> {
    const key = this.byId.get(keyId)
    if (!key) throw new TokenCipherError(`no key with id ${keyId}; add the old key to TOKEN_ENCRYPTION_KEYS_OLD`)
    const bytes = fromBase64Url(sealed)
    try {
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(context) },
        key.key,
        bytes.subarray(IV_BYTES),
      )
      return new TextDecoder().decode(plaintext)
    } catch {
      throw new TokenCipherError('a stored access token failed its integrity check')
    }
  }
}

async function importKey(raw: Uint8Array): Promise<Key> {
  const id = (await sha256Hex(raw)).slice(0, 12)
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
  return { id, key }
}

const ciphers = new Map<string, Promise<TokenCipher>>()

/** One cipher per key set per isolate: importing keys is async work not worth repeating. */
export function tokenCipher(keys: TokenKeys): Promise<TokenCipher> {
  const cacheKey = [keys.current, ...keys.old].map(toBase64Url).join(',')
  let cipher = ciphers.get(cacheKey)
  if (!cipher) {
    cipher = TokenCipher.create(keys)
    ciphers.set(cacheKey, cipher)
    cipher.catch(() => ciphers.delete(cacheKey))
  }
  return cipher
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}
