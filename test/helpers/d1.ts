import { env as baseEnv } from 'cloudflare:workers'

const fail = (what: string) => new Error(`D1_ERROR: simulated ${what} failure`)

/**
 * The test database with chosen operations failing, as D1 does in an outage: every batch
 * (`batch: true`), and/or every statement whose SQL `statement` matches. Everything else reaches
 * the real database.
 */
export function failingD1(fails: { batch?: boolean; statement?: (sql: string) => boolean }): D1Database {
  const db = baseEnv.DB as D1Database
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'batch' && fails.batch) return () => Promise.reject(fail('write'))
      if (property === 'prepare' && fails.statement) {
        const matches = fails.statement
        return (sql: string) => {
          if (matches(sql)) throw fail('statement')
          return target.prepare(sql)
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** A database that is down: every statement and batch fails. */
export const unavailableD1 = () => failingD1({ batch: true, statement: () => true })
