import { env as baseEnv } from 'cloudflare:workers'

const fail = (what: string) => new Error(`D1_ERROR: simulated ${what} failure`)

type Failures = {
  batch?: boolean
  statement?: (sql: string) => boolean
  /** Fails the statement only when bound to these values (one user's row, say). */
  bound?: (sql: string, params: unknown[]) => boolean
}

/**
 * The test database with chosen operations failing, as D1 does in an outage: every batch
 * (`batch: true`), every statement whose SQL `statement` matches, and/or every statement bound to
 * values that `bound` matches. Everything else reaches the real database.
 */
export function failingD1(fails: Failures): D1Database {
  const db = baseEnv.DB as D1Database
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'batch' && fails.batch) return () => Promise.reject(fail('write'))
      if (property === 'prepare' && (fails.statement || fails.bound)) {
        return (sql: string) => {
          if (fails.statement?.(sql)) throw fail('statement')
          const statement = target.prepare(sql)
          const matches = fails.bound
          if (!matches) return statement
          const failed = () => Promise.reject(fail('statement'))
          return Object.assign(Object.create(statement), {
            bind: (...params: unknown[]) =>
              matches(sql, params)
                ? { first: failed, all: failed, run: failed, raw: failed }
                : statement.bind(...params),
          })
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** A database that is down: every statement and batch fails. */
export const unavailableD1 = () => failingD1({ batch: true, statement: () => true })

/**
 * The test database once `tables` are dropped: every statement that names one of them fails as
 * D1 fails it ("no such table"), when it runs; every other statement reaches the real database.
 */
export function withoutTables(tables: readonly string[]): D1Database {
  const db = baseEnv.DB as D1Database
  const naming = new RegExp(`\\b(?:FROM|INTO|UPDATE)\\s+(${tables.join('|')})\\b`)
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'prepare') {
        return (sql: string) => {
          const table = naming.exec(sql)?.[1]
          if (!table) return target.prepare(sql)
          const missing = () => Promise.reject(new Error(`D1_ERROR: no such table: ${table}: SQLITE_ERROR`))
          const statement = { first: missing, all: missing, run: missing, raw: missing, bind: () => statement }
          return statement
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** The test database, recording the SQL of every statement prepared on it, in order. */
export function recordingD1(): { db: D1Database; prepared: string[] } {
  const db = baseEnv.DB as D1Database
  const prepared: string[] = []
  const recording = new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'prepare') {
        return (sql: string) => {
          prepared.push(sql)
          return target.prepare(sql)
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { db: recording, prepared }
}

/**
 * The test database where the first statement whose SQL matches `statement` runs, and then its
 * caller never hears back: the request's work stops there, as Cloudflare stops it when the
 * client goes away. `reached` settles once that statement has run.
 */
export function stoppingAfterD1(statement: (sql: string) => boolean): { db: D1Database; reached: Promise<void> } {
  const db = baseEnv.DB as D1Database
  let arrived: () => void = () => {}
  const reached = new Promise<void>((resolve) => {
    arrived = resolve
  })
  let stopped = false
  const stopAfter =
    <T>(run: () => Promise<T>) =>
    async (): Promise<T> => {
      const result = await run()
      if (stopped) return result
      stopped = true
      arrived()
      return new Promise<T>(() => {})
    }
  const proxy = new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'prepare') {
        return (sql: string) => {
          const prepared = target.prepare(sql)
          if (!statement(sql)) return prepared
          return Object.assign(Object.create(prepared), {
            bind: (...params: unknown[]) => {
              const bound = prepared.bind(...params)
              return Object.assign(Object.create(bound), { run: stopAfter(() => bound.run()) })
            },
          })
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { db: proxy, reached }
}
