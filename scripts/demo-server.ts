/**
 * Serves the demo web app (demo/) on an origin of its own, so each of its calls to the API is a
 * real cross-origin request with a preflight. Besides the static files it answers:
 *   GET /oauth-return             the app again: the redirect page an OAuth bank returns to
 *                                 (REDIRECT_PATH; the app resumes Link there)
 *   GET /config.json              where the API is, which Link script to load
 *   GET /dev-token?user=&ttl=     a bearer token for a dev user (ttl in seconds, negative for an
 *                                 expired one), signed as `npm run token` signs: development only
 * `npm run dev` starts it (serveDemo) and the browser tests too (startDemoServer).
 */
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { LINK_SCRIPT_PATH } from '../emulator/link-ui/session'
import { type DevUrls, REDIRECT_PATH, usesRealPlaid } from './dev-settings'
import { listenOrExit, sleep } from './lib/process'
import { healthy } from './lib/stack'
import { devToken } from './lib/tokens'

export { REDIRECT_PATH }

/** Plaid's real Link, for a developer whose .dev.vars has Sandbox keys. */
export const PLAID_LINK_SCRIPT = 'https://cdn.plaid.com/link/v2/stable/link-initialize.js'

const DEMO_DIR = fileURLToPath(new URL('../demo/', import.meta.url))
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}
// Long enough for a demo session; a negative ttl makes an expired token to try the 401 path.
const TTL = { min: -3600, max: 24 * 3600, default: 3600 }

export type DemoOptions = {
  /** 0 for any free port. */
  port: number
  apiUrl: string
  linkScriptUrl: string
  /** Signs a dev user's token, valid for ttl seconds from now. */
  mintToken: (userId: string, ttlSeconds: number) => Promise<string>
  /** How often the app re-reads Items, accounts and transactions (ms). */
  pollMs?: number
}

export type DemoServer = { url: string; close(): Promise<void> }

export function startDemoServer(options: DemoOptions): Promise<DemoServer> {
  const app = new Hono()
  app.get('/config.json', (c) =>
    c.json({ apiUrl: options.apiUrl, linkScriptUrl: options.linkScriptUrl, pollMs: options.pollMs ?? 3000 }),
  )
  app.get('/dev-token', async (c) => {
    const user = c.req.query('user') ?? ''
    const ttl = Number(c.req.query('ttl') ?? TTL.default)
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(user))
      return c.json({ detail: 'user must be 1 to 64 of A-Z a-z 0-9 _ . @ -' }, 400)
    if (!Number.isInteger(ttl) || ttl < TTL.min || ttl > TTL.max) {
      return c.json({ detail: `ttl must be whole seconds from ${TTL.min} to ${TTL.max}` }, 400)
    }
    return c.json({ token: await options.mintToken(user, ttl) }, 200, { 'Cache-Control': 'no-store' })
  })
  app.get('/*', async (c) => {
    const name = c.req.path === '/' || c.req.path === REDIRECT_PATH ? 'index.html' : c.req.path.slice(1)
    // Only the app's own flat files: no paths, so nothing outside demo/ can be asked for.
    if (!/^[a-z-]+\.(html|js|css)$/.test(name)) return c.notFound()
    try {
      const body = await readFile(join(DEMO_DIR, name))
      return c.body(body, 200, { 'Content-Type': TYPES[extname(name)] ?? 'text/plain', 'Cache-Control': 'no-store' })
    } catch {
      return c.notFound()
    }
  })

  return new Promise((resolve, reject) => {
    const server = serve({ port: options.port, hostname: '127.0.0.1', fetch: app.fetch }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      })
    })
    server.on('error', reject)
  })
}

/**
 * For `npm run dev`: serves the demo on `urls.demo` (DEMO_PORT, default 8789) for the API at
 * `urls.api`, signing tokens as `npm run token` does with `vars` (.dev.vars), and prints its URL
 * once the API answers. Exits with a message when the port is taken.
 */
export async function serveDemo(urls: DevUrls, vars: Record<string, string>): Promise<DemoServer> {
  const port = Number(new URL(urls.demo).port)
  const realPlaid = usesRealPlaid(vars)
  const demo = await listenOrExit(
    'the demo app',
    `Port ${port} (the demo app) is in use. Stop what holds it, or move the demo: DEMO_PORT=8791 npm run dev.`,
    () =>
      startDemoServer({
        port,
        apiUrl: urls.api,
        linkScriptUrl: realPlaid ? PLAID_LINK_SCRIPT : `${urls.emulator}${LINK_SCRIPT_PATH}`,
        mintToken: (userId, ttlSeconds) => devToken(userId, ttlSeconds, { vars }),
      }),
  )
  void announceWhenReady(urls.api, demo.url, realPlaid)
  return demo
}

/** Prints the demo's URL after wrangler's start-up lines, so it is the last thing on screen. */
async function announceWhenReady(apiUrl: string, demoUrl: string, realPlaid: boolean): Promise<void> {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline && !(await healthy(apiUrl))) await sleep(500)
  const link = realPlaid ? "Plaid's Sandbox Link" : 'the emulated Plaid Link (user_good / pass_good)'
  console.log(`\n  Demo app: ${demoUrl}  (signs in as a dev user; links banks with ${link})\n`)
}
