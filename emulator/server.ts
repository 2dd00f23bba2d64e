/**
 * Serves the emulator over HTTP for local development. `npm run emulator` runs it alone
 * (EMULATOR_PORT, default 8788); `npm run dev` starts it beside the API. Webhooks are POSTed to
 * each Item's webhook URL (under `npm run dev`, the API's /api/v1/banking/webhooks).
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import { createEmulator, DISCONNECT_HEADER, type EmulatorOptions } from './emulator'

/**
 * `options` as for createEmulator; by default webhooks are POSTed to their URLs, and the emulated
 * Link script is served at Plaid's path.
 */
export function startEmulatorServer(port: number, options: EmulatorOptions = {}): Promise<void> {
  const linkScript = readFileSync(new URL('./link-ui/link-initialize.js', import.meta.url), 'utf8')
  const emulator = createEmulator({ linkScript, ...options })
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        port,
        hostname: '127.0.0.1',
        fetch: async (request, env) => {
          const response = await emulator.fetch(request)
          if (response.headers.has(DISCONNECT_HEADER)) env.incoming.socket.destroy()
          return response
        },
      },
      () => {
        console.log(`Plaid emulator listening on http://127.0.0.1:${port}`)
        resolve()
      },
    )
    server.on('error', reject)
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await startEmulatorServer(Number(process.env.EMULATOR_PORT ?? 8788))
}
