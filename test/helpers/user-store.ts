/**
 * Reaching users' objects (src/store/user-store.ts) from tests: reading and writing their SQLite
 * storage directly, and a namespace whose objects fail chosen calls, as storage does in an outage.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import type { UserStore } from '../../src/store/user-store'

const namespace = () => baseEnv.USER_STORE as DurableObjectNamespace<UserStore>

/** The user's object, as the Worker addresses it. */
export const userStoreOf = (userId: string) => namespace().get(namespace().idFromName(userId))

/**
 * Resets the object's instance, as an eviction does: the next call constructs it again. Writes a
 * test made must be in an earlier call: aborting drops what the current one has not committed.
 */
export async function evict(userId: string): Promise<void> {
  await runInDurableObject(userStoreOf(userId), (_instance, state) => {
    try {
      state.abort('evicted by the test')
    } catch {}
  }).catch(() => {})
}

/** Rows of a query run inside the user's object. */
export function rowsIn<T = Record<string, unknown>>(userId: string, query: string, ...params: unknown[]): Promise<T[]> {
  return runInDurableObject(userStoreOf(userId), (_instance, state) =>
    state.storage.sql.exec(query, ...params).toArray(),
  ) as Promise<T[]>
}

/** The first row of a query run inside the user's object, or null. */
export async function rowIn<T = Record<string, unknown>>(userId: string, query: string, ...params: unknown[]) {
  return ((await rowsIn<T>(userId, query, ...params))[0] ?? null) as T | null
}

export const STORE_FAILURE = 'SQLITE_ERROR: simulated storage failure'

/**
 * The USER_STORE binding with each stub it hands out passed through `wrap` first; every other
 * property of the namespace is the real one's.
 */
function wrappingStubs(
  wrap: (stub: DurableObjectStub<UserStore>, id: DurableObjectId) => DurableObjectStub<UserStore>,
): DurableObjectNamespace<UserStore> {
  const real = namespace()
  return new Proxy(real, {
    get(target, property) {
      if (property === 'get') return (id: DurableObjectId) => wrap(target.get(id), id)
      const value = Reflect.get(target, property)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * The USER_STORE binding with the named methods of every object failing, as the storage does when
 * it cannot write; every other call reaches the real object.
 */
export function failingUserStore(failing: (keyof UserStore)[]): DurableObjectNamespace<UserStore> {
  return wrappingStubs(
    (stub) =>
      new Proxy(stub, {
        get(stubTarget, name) {
          if (failing.includes(name as keyof UserStore)) return () => Promise.reject(new Error(STORE_FAILURE))
          return Reflect.get(stubTarget, name)
        },
      }),
  )
}

/**
 * The USER_STORE binding with these users' objects failing every call (an object that cannot
 * start, say), and every other user's object working: what background jobs must step around.
 */
export function poisonedUserStore(...userIds: string[]): DurableObjectNamespace<UserStore> {
  const poisoned = userIds.map((userId) => namespace().idFromName(userId))
  return wrappingStubs((stub, id) => {
    if (!poisoned.some((each) => id.equals(each))) return stub
    // Not thenable: a stub is never awaited itself.
    const fail = () => Promise.reject(new Error(STORE_FAILURE))
    return new Proxy(stub, { get: (_stub, name) => (name === 'then' ? undefined : fail) })
  })
}

/** What the runtime throws when it lost the object mid-call and says a retry may work. */
export const retryableError = () => Object.assign(new Error('Network connection lost.'), { retryable: true })

export const BROKEN_STUB = 'simulated broken stub: it threw before'

/**
 * The USER_STORE binding whose objects fail calls of `method` (every object's calls counted
 * together) from the one after `after` for `times` calls, with `error`. As Cloudflare warns, a stub
 * that threw is often broken: every later call on it fails too, while a fresh stub works.
 */
export function flakyUserStore(
  method: keyof UserStore,
  { after = 0, times = 1, error = retryableError }: { after?: number; times?: number; error?: () => Error } = {},
) {
  const counted = { calls: 0 }
  const flaky = wrappingStubs((stub) => {
    let broken = false
    return new Proxy(stub, {
      get(stubTarget, name) {
        if (name === 'then') return undefined
        const value = Reflect.get(stubTarget, name)
        if (typeof value !== 'function') return value
        return async (...args: unknown[]) => {
          if (broken) throw new Error(BROKEN_STUB)
          if (name === method) {
            counted.calls++
            if (counted.calls > after && counted.calls <= after + times) {
              broken = true
              throw error()
            }
          }
          return Reflect.apply(value, stubTarget, args)
        }
      },
    })
  })
  return { namespace: flaky, counted }
}

/** A user store that is down: every call fails. */
export const unavailableUserStore = () =>
  failingUserStore([
    'listItems',
    'getItem',
    'listStoredItems',
    'listAccounts',
    'listTransactions',
    'claimPublicToken',
    'insertLinkedItem',
    'deleteItem',
  ])

/** The USER_STORE binding, recording the name of every object the Worker addresses. */
export function watchedUserStore(): { namespace: DurableObjectNamespace<UserStore>; named: string[] } {
  const named: string[] = []
  const real = namespace()
  const watched = new Proxy(real, {
    get(target, property) {
      if (property === 'idFromName') {
        return (name: string) => {
          named.push(name)
          return target.idFromName(name)
        }
      }
      const value = Reflect.get(target, property)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { namespace: watched, named }
}

/**
 * The USER_STORE binding where the first call of `method` reaches the real object, and then its
 * caller does not hear back until the test calls `resume` (never, for a request whose work
 * Cloudflare stopped because its client went away). `reached` settles once the object has
 * answered that call.
 */
export function pausingAfterUserStore(method: keyof UserStore): {
  namespace: DurableObjectNamespace<UserStore>
  reached: Promise<void>
  resume: () => void
} {
  let arrived: () => void = () => {}
  const reached = new Promise<void>((resolve) => {
    arrived = resolve
  })
  let resume: () => void = () => {}
  const resumed = new Promise<void>((resolve) => {
    resume = resolve
  })
  let paused = false
  const namespace = afterCall(method, async (result) => {
    if (paused) return result
    paused = true
    arrived()
    await resumed
    return result
  })
  return { namespace, reached, resume }
}

/** As pausingAfterUserStore, never resumed: the request's work stops after that call. */
export const stoppingAfterUserStore = (method: keyof UserStore) => pausingAfterUserStore(method)

/**
 * The USER_STORE binding where `method` reaches the real object, which does its work, and then
 * the call fails on the way back with an error Cloudflare marks retryable: an error that does not
 * mean nothing was written.
 */
export const failingAfterUserStore = (method: keyof UserStore) =>
  afterCall(method, () => Promise.reject(retryableError()))

function afterCall(
  method: keyof UserStore,
  then: (result: unknown) => Promise<unknown>,
): DurableObjectNamespace<UserStore> {
  return wrappingStubs(
    (stub) =>
      new Proxy(stub, {
        get(stubTarget, name) {
          const value = Reflect.get(stubTarget, name)
          if (name !== method || typeof value !== 'function') return value
          return async (...args: unknown[]) => then(await Reflect.apply(value, stubTarget, args))
        },
      }),
  )
}

/**
 * Wakes the user's object as its alarm would, with the test's queue in place of the Worker's own
 * (the jobs it queues are then the test's to run with its env), and answers when it is set to
 * wake next (null: not set).
 */
export async function runUserStoreAlarm(userId: string, queue: unknown): Promise<number | null> {
  return runInDurableObject(userStoreOf(userId), async (instance, state) => {
    const target = instance as unknown as { env: Record<string, unknown> }
    const own = target.env
    target.env = { ...own, WEBHOOK_QUEUE: queue }
    try {
      await instance.alarm?.()
    } finally {
      target.env = own
    }
    return state.storage.getAlarm()
  })
}
