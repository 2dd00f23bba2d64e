import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../types'

/** Names what a route does, so its errors read "Failed to <operation>: <reason>". */
export const operation = (name: string) =>
  createMiddleware<AppEnv>(async function setOperation(c, next) {
    c.set('operation', name)
    await next()
  })
