import { vi } from 'vitest'
import type { TestEnv } from './env'

type SyncCall = { cursor: string | null; status: number; nextCursor: string | null }

/**
 * Watches the Worker's /transactions/sync calls for one test's Plaid client id. Every call still
 * goes out through the real fetch to the emulator and gets the emulator's real answer; `holdNext`
 * only keeps the next answer from the Worker until released, so the sync that made the call has
 * fetched its data but cannot write it yet.
 */
export function watchSyncCalls(env: TestEnv) {
  const realFetch = globalThis.fetch
  const calls: SyncCall[] = []
  let hold: { reached: () => void; released: Promise<void>; skip: number } | null = null
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const clientId = new Headers(init?.headers).get('PLAID-CLIENT-ID')
    if (!url.endsWith('/transactions/sync') || clientId !== env.PLAID_CLIENT_ID) return realFetch(input, init)
    const sent = JSON.parse(String(init?.body)) as { cursor?: string }
    const response = await realFetch(input, init)
    const text = await response.text()
    const answer = JSON.parse(text) as { next_cursor?: string }
    calls.push({ cursor: sent.cursor ?? null, status: response.status, nextCursor: answer.next_cursor ?? null })
    const held = hold && hold.skip-- === 0 ? hold : null
    if (held) hold = null
    if (held) {
      held.reached()
      await held.released
    }
    // A fresh Response: the original's body is tied to the call's timeout signal.
    return new Response(text, { status: response.status, headers: response.headers })
  })
  return {
    calls,
    /**
     * Holds the next answer (or the one after `skip` others); resolves `arrived` once it has
     * arrived, gives it to the Worker on `release()`.
     */
    holdNext(skip = 0) {
      let reached!: () => void
      let release!: () => void
      const arrived = new Promise<void>((r) => {
        reached = r
      })
      hold = { reached, released: new Promise<void>((r) => (release = r)), skip }
      return { arrived, release }
    },
  }
}
