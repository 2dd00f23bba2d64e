import type { Config } from '../config'
import type { UserStore } from './user-store'

export type UserStoreStub = DurableObjectStub<UserStore>

/**
 * Calls that give the same result and leave the same rows when made twice: reads, deletes,
 * conditional swaps, and the move (which keeps rows already there). Everything else (claims, the
 * link's insert, a sync's begin, page and finish) may have been written when the error came, so a
 * second try could do it twice: those fail to their caller, whose own retry knows what to redo.
 */
const REPEATABLE = new Set<keyof UserStore>([
  'listItems',
  'getItem',
  'listStoredItems',
  'findDuplicateItem',
  'findDuplicateItems',
  'listAccounts',
  'listTransactions',
  'releasePublicToken',
  'replaceSealedToken',
  'setNewAccountsAvailable',
  'deleteAccount',
  'deleteItem',
  'resetSync',
  'dropSync',
  // Each call applies the next part of the staging: a second try applies the one after, or finds
  // the run finished.
  'applySyncPart',
  'moveIn',
  // A pending link's record is written once (ON CONFLICT DO NOTHING) and its alarm set once.
  'recordPendingLink',
  'findPendingLink',
  'listPendingLinks',
  'dropPendingLink',
])

/** Tries of a repeatable call, the first included, and the wait before the second (doubled after). */
export const CALL_ATTEMPTS = 3
const FIRST_BACKOFF_MS = 50

/**
 * Cloudflare marks infrastructure errors that a retry may cure (a connection lost, the object
 * reset) with `retryable`; `overloaded` ones are not to be retried, which would only add load.
 */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const flags = error as Error & { retryable?: boolean; overloaded?: boolean }
  return flags.retryable === true && flags.overloaded !== true
}

/**
 * The user's object. Called from a user's request, this creates it near that request if it is new;
 * background jobs (queue, cron) call it only for users the D1 index names, whose object exists.
 *
 * Every call made through it goes to a fresh stub after one fails, since a stub is often broken by
 * the exception it threw (Cloudflare's error-handling guidance): a `catch` that cleans up through
 * the same store reaches the object. Repeatable calls are tried again on a `retryable` error.
 */
export function userStore(config: Config, userId: string): UserStoreStub {
  const fresh = () => config.users.get(config.users.idFromName(userId))
  let stub = fresh()
  return new Proxy(stub, {
    get(_target, name) {
      // A stub is never awaited itself.
      if (name === 'then') return undefined
      const value: unknown = Reflect.get(stub, name)
      if (typeof name !== 'string' || typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        for (let attempt = 1; ; attempt++) {
          const used = stub
          try {
            return await Reflect.apply(Reflect.get(used, name) as (...a: unknown[]) => unknown, used, args)
          } catch (error) {
            if (stub === used) stub = fresh()
            const again = REPEATABLE.has(name as keyof UserStore) && isRetryable(error) && attempt < CALL_ATTEMPTS
            if (!again) throw error
            // Jittered, so that many callers cut off together do not come back together.
            await new Promise((resolve) => setTimeout(resolve, FIRST_BACKOFF_MS * 2 ** (attempt - 1) * Math.random()))
          }
        }
      }
    },
  })
}
