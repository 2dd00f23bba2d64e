/** Lower-case hex SHA-256 of bytes or of a string's UTF-8 encoding. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
}

// Importing a key is async work worth doing once per isolate and key, not on every request.
const hmacKeys = new Map<string, Promise<CryptoKey>>()

/** Lower-case hex HMAC-SHA256 of a string's UTF-8 encoding under `key`. */
export async function hmacSha256Hex(key: Uint8Array, data: string): Promise<string> {
  const cacheKey = toHex(key)
  let imported = hmacKeys.get(cacheKey)
  if (!imported) {
    imported = crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    hmacKeys.set(cacheKey, imported)
    imported.catch(() => hmacKeys.delete(cacheKey))
  }
  const mac = await crypto.subtle.sign('HMAC', await imported, new TextEncoder().encode(data))
  return toHex(new Uint8Array(mac))
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += HEX[byte]
  return hex
}
