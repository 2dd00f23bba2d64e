/**
 * Serves the emulator over HTTP for local development. `npm run emulator` runs it alone
 * (EMULATOR_PORT, default 8788); `npm run dev` starts it beside the API. Webhooks are POSTed to
 * each Item's webhook URL (under `npm run dev`, the API's /api/v1/banking/webhooks). With a
 * `stateFile`, what the emulator holds is loaded from it on start and saved to it shortly after
 * every request that may change it, and on close (emulator/persist.ts).
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import { createEmulator, type EmulatorOptions } from './emulator'
import { EMULATOR_STATE_FILE, loadStateFile, writeStateFile } from './persist'
import { DISCONNECT_HEADER } from './pipeline'
import { serializeTenants } from './snapshot'
import type { Tenant } from './state'

export type EmulatorServerOptions = EmulatorOptions & {
  /** Where to keep the emulator's state between runs; none: it starts empty and keeps nothing. */
  stateFile?: string
}

export type EmulatorServer = {
  /** Saves what is not saved yet (with a stateFile) and stops listening. */
  close(): Promise<void>
  /**
   * A client id's state, for a script running the emulator in its own process: a fault armed
   * here from an `onExchange` callback applies before the answer it saw reaches the caller.
   */
  tenant(clientId: string): Tenant
}

/** How long the state waits after a change before it is written, so a burst of requests writes once. */
const SAVE_DELAY_MS = 200

/**
 * `options` as for createEmulator; by default webhooks are POSTed to their URLs, and the emulated
 * Link script is served at Plaid's path.
 */
export async function startEmulatorServer(port: number, options: EmulatorServerOptions = {}): Promise<EmulatorServer> {
  const { stateFile, ...emulatorOptions } = options
  const linkScript = readFileSync(new URL('./link-ui/link-initialize.js', import.meta.url), 'utf8')
  const emulator = createEmulator({ linkScript, ...emulatorOptions })
  let saver: StateSaver | undefined
  if (stateFile) {
    const restored = await loadStateFile(stateFile, emulatorOptions.now)
    for (const [clientId, tenant] of restored) emulator.tenants.set(clientId, tenant)
    const items = [...restored.values()].reduce((n, t) => n + t.items.size, 0)
    if (items > 0) console.log(`Plaid emulator: ${items} Items restored from ${stateFile}`)
    saver = stateSaver(emulator.tenants, stateFile)
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const listening = serve(
      {
        port,
        hostname: '127.0.0.1',
        fetch: async (request, env) => {
          const response = await emulator.fetch(request)
          if (request.method !== 'GET' && request.method !== 'HEAD') saver?.schedule()
          if (response.headers.has(DISCONNECT_HEADER)) env.incoming.socket.destroy()
          return response
        },
      },
      () => {
        console.log(`Plaid emulator listening on http://127.0.0.1:${port}`)
        resolve(listening)
      },
    )
    listening.on('error', reject)
  })
  return {
    tenant: emulator.tenant,
    async close() {
      await saver?.flush()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

type StateSaver = { schedule(): void; flush(): Promise<void> }

/** Writes the tenants to `path` SAVE_DELAY_MS after the last change, one write at a time. */
function stateSaver(tenants: ReadonlyMap<string, Tenant>, path: string): StateSaver {
  let timer: NodeJS.Timeout | undefined
  let writing = Promise.resolve()
  const save = () => {
    clearTimeout(timer)
    timer = undefined
    writing = writing
      .then(async () => writeStateFile(path, await serializeTenants(tenants)))
      .catch((error: unknown) => console.warn(`Plaid emulator: could not save ${path}: ${(error as Error).message}`))
    return writing
  }
  return {
    schedule() {
      clearTimeout(timer)
      timer = setTimeout(save, SAVE_DELAY_MS)
      timer.unref()
    },
    flush: () => (timer ? save() : writing),
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = await startEmulatorServer(Number(process.env.EMULATOR_PORT ?? 8788), {
    stateFile: EMULATOR_STATE_FILE,
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void server.close().finally(() => process.exit(0))
    })
  }
}
