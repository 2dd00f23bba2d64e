/** Base64 with Web APIs only (btoa/atob), so the emulator runs in workerd as well as in Node. */

const binary = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join('')

/** Standard base64 of bytes, padded. */
export const base64 = (bytes: ArrayBuffer | Uint8Array) => btoa(binary(new Uint8Array(bytes)))

/** base64url of bytes, unpadded (RFC 7515's encoding for JWS parts). */
export const base64Url = (bytes: ArrayBuffer | Uint8Array) =>
  base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

/**
 * The bytes of standard base64 text, read leniently: decoding stops at the first "=" and a final
 * character that completes no byte is ignored, so any string of base64 characters decodes.
 * Callers check what the bytes say.
 */
export function fromBase64(text: string): Uint8Array {
  let digits = text.slice(0, text.includes('=') ? text.indexOf('=') : text.length)
  if (digits.length % 4 === 1) digits = digits.slice(0, -1)
  return Uint8Array.from(atob(digits), (c) => c.charCodeAt(0))
}
