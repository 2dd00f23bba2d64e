/**
 * Every identifier and every random number the emulator makes: Plaid-shaped ids from the system's
 * randomness, and a seeded PRNG for data that must look the same in every run (an Item's history).
 */

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** An identifier shaped like Plaid's item_id / account_id: 37 base62 characters. */
export function plaidId(length = 37): string {
  // 248 = 4 × 62: dropping bytes at or above it keeps every character equally likely.
  let id = ''
  while (id.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length))) {
      if (b < 248 && id.length < length) id += BASE62[b % 62]
    }
  }
  return id
}

/** A request_id like Plaid's: 15 letters and digits. */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15))
  return Array.from(bytes, (b) => BASE62[b % BASE62.length]).join('')
}

/** sfc32 seeded from a string: fast, and good enough to make data look varied. */
export function seededRandom(seed: string): () => number {
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  let [a, b, c, d] = [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
  return () => {
    a |= 0
    b |= 0
    c |= 0
    d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
}

/** A 37-character base62 id like Plaid's transaction_id and entity ids, drawn from `random`. */
export function seededId(random: () => number): string {
  let id = ''
  // Five base62 digits per draw (62^5 < 2^32): ids are the bulk of the generation cost.
  while (id.length < 37) {
    let n = Math.floor(random() * 916_132_832)
    for (let i = 0; i < 5 && id.length < 37; i++, n = Math.floor(n / 62)) id += BASE62[n % 62]
  }
  return id
}
