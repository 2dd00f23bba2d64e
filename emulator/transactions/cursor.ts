/**
 * `/transactions/sync` cursors: a position in one Item's change log, for one account's stream or
 * all of them, opaque to clients.
 */
import { base64, fromBase64 } from '../base64'

const CURSOR_VERSION = 'v1'

/** What a cursor names: a position in one Item's log, for one account's stream or all of them. */
export type CursorPosition = { itemId: string; accountId: string | null; index: number }

/** Opaque to clients: base64 (as Plaid's look) of the version, Item, account stream and index. */
export function encodeCursor({ itemId, accountId, index }: CursorPosition): string {
  return base64(new TextEncoder().encode(`${CURSOR_VERSION}|${itemId}|${accountId ?? ''}|${index}`))
}

/** The position a cursor names, or undefined when it is not a cursor the emulator issued. */
export function decodeCursor(cursor: string): CursorPosition | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(cursor)) return undefined
  // ignoreBOM keeps a leading BOM in the text, so it fails the version check like any other byte.
  const parts = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(fromBase64(cursor)).split('|')
  if (parts.length !== 4) return undefined
  const [version, itemId, accountId, index] = parts as [string, string, string, string]
  if (version !== CURSOR_VERSION || !/^[A-Za-z0-9]+$/.test(itemId) || !/^(0|[1-9]\d{0,8})$/.test(index)) {
    return undefined
  }
  return { itemId, accountId: accountId === '' ? null : accountId, index: Number(index) }
}
