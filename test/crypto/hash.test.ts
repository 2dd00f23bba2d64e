import { afterEach, describe, expect, it, vi } from 'vitest'
import { hmacSha256Hex } from '../../src/crypto/hash'

// RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
const RFC_4231_KEY = new TextEncoder().encode('Jefe')
const RFC_4231_MAC = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'

describe('hmacSha256Hex', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('answers the HMAC-SHA256 of RFC 4231, in lower-case hex', async () => {
    expect(await hmacSha256Hex(RFC_4231_KEY, 'what do ya want for nothing?')).toBe(RFC_4231_MAC)
  })

  it('imports each key once per isolate, however many values it hashes', async () => {
    const importKey = vi.spyOn(crypto.subtle, 'importKey')
    const key = crypto.getRandomValues(new Uint8Array(32))
    const other = crypto.getRandomValues(new Uint8Array(32))
    const macs = await Promise.all(['a', 'b', 'a'].map((data) => hmacSha256Hex(key, data)))
    expect(macs[0]).toBe(macs[2])
    expect(macs[0]).not.toBe(macs[1])
    expect(await hmacSha256Hex(Uint8Array.from(key), 'a')).toBe(macs[0])
    expect(importKey).toHaveBeenCalledTimes(1)
    expect(await hmacSha256Hex(other, 'a')).not.toBe(macs[0])
    expect(importKey).toHaveBeenCalledTimes(2)
  })
})
