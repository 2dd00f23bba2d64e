import type { Bindings, Config } from './config'
import type { Logger } from './log'

/** The one environment type of the app: every Hono instance and middleware uses it. */
export type AppEnv = {
  Bindings: Bindings
  Variables: {
    /** The settings, once a middleware or handler has read them (src/config `configOf`). */
    config?: Config
    /** The signed-in user: the verified JWT's `sub`. */
    userId: string
    /** What the current route does, as in "Failed to <operation>: <reason>". */
    operation: string
    /** The caller's X-Request-Id when it is a sane value, else a new one. */
    requestId: string
    /** Logs with this request's id on every line (src/context `logOf`). */
    log?: Logger
    /** When the route has one (its endpoint's `deadlineMs`), the time (epoch ms) by which every wait must be over. */
    deadline?: number
  }
}
