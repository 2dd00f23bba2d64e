/**
 * The Worker's outbound network during tests (runs in Node, outside workerd): requests to
 * plaid.test go to the Plaid emulator and to idp.test to a stand-in identity provider; a request
 * to any other host is reported on stderr and its connection dropped, so no test can reach a real
 * host and the Worker sees exactly what an unreachable host looks like. Every Plaid exchange is recorded for the contract check.
 * Webhooks are not POSTed anywhere: each client id's wait in its outbox (GET /emulator/webhooks).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getRequestListener } from '@hono/node-server'
import { createEmulator, DISCONNECT_HEADER } from '../emulator/emulator'
import { createIdentityProvider } from './idp'

export const EMULATOR_HOST = 'plaid.test'
/** The stand-in identity provider (test/idp.ts). */
export const IDP_HOST = 'idp.test'
/** A host the tests use to stand for "Plaid cannot be reached". */
export const UNREACHABLE_HOST = 'unreachable.test'
export const EXCHANGES_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../.contract/exchanges.jsonl')

/**
 * Hosts the Worker picks without PLAID_BASE_URL (Plaid's own, and the emulator's dev address).
 * They are never reached: the answer is a Plaid-shaped error naming the host, so a test can see
 * where settings sent the Worker.
 */
export const PLAID_HOSTS_SEEN = ['sandbox.plaid.com', 'production.plaid.com', '127.0.0.1:8788']

function answerWhereItWent(host: string, res: ServerResponse) {
  res.writeHead(400, { 'Content-Type': 'application/json' })
  res.end(
    JSON.stringify({
      error_type: 'INVALID_REQUEST',
      error_code: 'TEST_NETWORK_HOST',
      error_message: `request went to ${host}`,
      display_message: null,
    }),
  )
}

export function emulatorNetwork() {
  mkdirSync(dirname(EXCHANGES_FILE), { recursive: true })
  writeFileSync(EXCHANGES_FILE, '')
  const emulator = createEmulator({
    onExchange: (exchange) => appendFileSync(EXCHANGES_FILE, `${JSON.stringify(exchange)}\n`),
    // Tests collect webhooks from GET /emulator/webhooks (per client id) instead of receiving POSTs.
    webhookOutbox: true,
  })
  const listener = getRequestListener(async (request, env) => {
    const response = await emulator.fetch(request)
    if (response.headers.has(DISCONNECT_HEADER)) env.incoming.socket.destroy()
    return response
  })
  const idp = getRequestListener(createIdentityProvider().fetch)
  return {
    node: (req: IncomingMessage, res: ServerResponse) => {
      const host = req.headers.host ?? ''
      if (host === EMULATOR_HOST) return listener(req, res)
      if (host === IDP_HOST) return idp(req, res)
      if (PLAID_HOSTS_SEEN.includes(host)) return answerWhereItWent(host, res)
      if (host !== UNREACHABLE_HOST) console.error(`test network: unexpected request to ${host}${req.url}`)
      req.socket.destroy()
    },
  }
}
