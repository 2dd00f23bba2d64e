/**
 * The Worker's outbound network during tests (runs in Node, outside workerd): requests to
 * plaid.test go to the Plaid emulator and to idp.test to a stand-in identity provider; a request
 * to any other host is reported on stderr and its connection dropped, so no test can reach a real
 * host and the Worker sees exactly what an unreachable host looks like. Every Plaid exchange is recorded for the contract check.
 * Webhooks are not POSTed anywhere: each client id's wait in its outbox (GET /emulator/webhooks).
 * workerd reports each connection dropped on purpose as an uncaught exception; quietExpectedReports()
 * keeps exactly those reports, as many as connections were dropped, out of the run's output, and
 * those of what tests do to Durable Objects on purpose.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getRequestListener } from '@hono/node-server'
import { createEmulator } from '../../emulator/emulator'
import { DISCONNECT_HEADER } from '../../emulator/pipeline'
import { createIdentityProvider } from './idp'

export const EMULATOR_HOST = 'plaid.test'
/** The stand-in identity provider (test/support/idp.ts). */
export const IDP_HOST = 'idp.test'
/** A host the tests use to stand for "Plaid cannot be reached". */
export const UNREACHABLE_HOST = 'unreachable.test'
export const EXCHANGES_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../.contract/exchanges.jsonl')

/**
 * Hosts the Worker picks without PLAID_BASE_URL (Plaid's own, and the emulator's dev address).
 * They are never reached: the answer is a Plaid-shaped error naming the host, so a test can see
 * where settings sent the Worker.
 */
export const PLAID_HOSTS_SEEN = ['sandbox.plaid.com', 'production.plaid.com', '127.0.0.1:8788']

/**
 * What workerd prints, once each, for every connection this network drops: miniflare's shim
 * between workerd and this Node handler passes the lost connection on as a rejected promise,
 * which workerd logs as uncaught (twice), after kj's own report. None of it comes from the
 * Worker, whose code sees an ordinary network error.
 */
const DROP_REPORTS = [
  {
    pattern: /^exception = kj\/async-io\.c\+\+:\d+: disconnected: stream disconnected prematurely\nstack: [^\n]*\n$/,
    perDrop: 1,
  },
  {
    pattern: /^uncaught exception; source = Uncaught \(in promise\); stack = Error: Network connection lost\.\n$/,
    perDrop: 2,
  },
  {
    pattern:
      /^uncaught exception; exception = \S+: disconnected: jsg\.Error: Network connection lost\.\nstack: [^\n]*\n$/,
    perDrop: 2,
  },
]
/**
 * workerd's reports of what the tests do to Durable Objects on purpose, recognised by texts only
 * the tests use: an object evicted by test/helpers/user-store.ts's evict(), and a storage failure
 * the tests simulate (which the object passes back to its caller, and workerd also logs).
 */
const TEST_OBJECT_REPORTS = [
  /^uncaught exception; exception = \S+: failed: broken\.outputGateBroken; jsg\.Error: evicted by the test\nstack: [^\n]*\n$/,
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: (SQLITE_ERROR: )?simulated storage failure/,
]

/**
 * workerd's reports of errors the user's object throws to the Worker by design, which the Worker
 * turns into an answer (workerd logs every error an object's method throws across RPC, with its
 * stack, though the caller handles it). Each is recognised by its message and the object's frame
 * that throws it.
 */
const OBJECT_ANSWERS = [
  // A run dropped as abandoned meets its next page (store/sync-staging.ts): the sync answers 500.
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: sync run dropped\n {4}at stagePage \(/,
  // A call while the user's rows are still moving in (store/legacy/gate.ts): the API answers 503.
  /^uncaught exception; source = Uncaught \(in promise\); stack = MoveInProgressError: your data is being moved to its new storage; try again in a few seconds\n {4}at legacyGate \([^\n]*\n {4}at UserStore\.storageOf \(/,
]

/**
 * What workerd prints when the move's D1 record fails inside the object's blockConcurrencyWhile:
 * test/storage-move-rollout.test.ts renames storage_moves away for one request to provoke it.
 * The rejection, the input gate it breaks, and that gate's two reports.
 */
const MISSING_MOVES_TABLE = [
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: D1_ERROR: no such table: storage_moves: SQLITE_ERROR\n {4}at D1DatabaseSessionAlwaysPrimary\._sendOrThrow /,
  /^Annotating with brokenness; internalMessage = jsg\.Error: D1_ERROR: no such table: storage_moves: SQLITE_ERROR; brokennessReason = broken\.inputGateBroken\n$/,
  /^uncaught exception; exception = \S+: failed: broken\.inputGateBroken; jsg\.Error: D1_ERROR: no such table: storage_moves: SQLITE_ERROR\nstack: [^\n]*\n$/,
]

/**
 * What workerd prints each time the pool closes its WebSocket to a test file's runner (pool
 * 0.15.1). Neither the Worker nor the emulator opens a WebSocket, so every such report is the pool's.
 */
const POOL_SOCKET_CLOSED =
  /^exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected\n$/

const EXPECTED_REPORTS = [...TEST_OBJECT_REPORTS, ...OBJECT_ANSWERS, ...MISSING_MOVES_TABLE, POOL_SOCKET_CLOSED]

/** How many more of each report the connections dropped so far account for. */
const expectedReports = DROP_REPORTS.map(() => 0)

/** Drops the connection on purpose: its reports are expected, so quietExpectedReports() holds them back. */
function dropConnection(socket: Socket) {
  DROP_REPORTS.forEach(({ perDrop }, i) => {
    expectedReports[i] = (expectedReports[i] ?? 0) + perDrop
  })
  socket.destroy()
}

/**
 * Holds back workerd's reports of connections this network dropped on purpose (the pool prints
 * workerd's log lines to stdout and stderr, one write each, with no hook to filter them). Only
 * as many as the drops account for are held back, so a report beyond them still shows. Also holds
 * back the reports above.
 */
export function quietExpectedReports() {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : ''
      const report = DROP_REPORTS.findIndex(({ pattern }) => pattern.test(text))
      const dropped = report !== -1 && (expectedReports[report] ?? 0) > 0
      if (dropped) expectedReports[report] = (expectedReports[report] ?? 0) - 1
      if (dropped || EXPECTED_REPORTS.some((pattern) => pattern.test(text))) {
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined
        callback?.()
        return true
      }
      return write(chunk, ...rest)
    }) as typeof stream.write
  }
}

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
    if (response.headers.has(DISCONNECT_HEADER)) dropConnection(env.incoming.socket)
    return response
  })
  const idp = getRequestListener(createIdentityProvider().fetch)
  return {
    node: (req: IncomingMessage, res: ServerResponse) => {
      const host = req.headers.host ?? ''
      if (host === EMULATOR_HOST) return listener(req, res)
      if (host === IDP_HOST) return idp(req, res)
      if (PLAID_HOSTS_SEEN.includes(host)) return answerWhereItWent(host, res)
      if (host === UNREACHABLE_HOST) return dropConnection(req.socket)
      // Not quietened: an unexpected host is a mistake in a test, and should stand out.
      console.error(`test network: unexpected request to ${host}${req.url}`)
      req.socket.destroy()
    },
  }
}
