import type { Bindings } from './env'

/** The one environment type of the app: every Hono instance and middleware uses it. */
export type AppEnv = {
  Bindings: Bindings
  Variables: {
    /** The signed-in user: the verified JWT's `sub`. */
    userId: string
    /** What the current route does, as in "Failed to <operation>: <reason>". */
    operation: string
  }
}
