/**
 * `npx tsx scripts/sandbox-public-token.ts [institution_id]`: prints a Sandbox public token, as
 * Link's onSuccess would hand one over, for trying the exchange endpoint by hand. It asks Plaid's
 * real Sandbox when .dev.vars has PLAID_CLIENT_ID and PLAID_SECRET (as `npm run dev` does), and
 * the local emulator otherwise. Only the token goes to stdout, so it can be captured:
 *   PUBLIC_TOKEN=$(npx tsx scripts/sandbox-public-token.ts)
 */
import { EMULATOR_CLIENT_ID, EMULATOR_SECRET } from '../src/dev-defaults'
import { currentDevUrls } from './dev-session'
import { readDevVars } from './dev-vars'
import { plaidHeaders } from './lib/plaid'

const institutionId = process.argv[2] ?? 'ins_109508'
const vars = readDevVars()
const real = Boolean(vars.PLAID_CLIENT_ID && vars.PLAID_SECRET)
// The emulator and the API are where the running `npm run dev` put them (its session file, or
// EMULATOR_PORT and PORT when exported here); PLAID_BASE_URL in .dev.vars names Plaid's host.
const dev = currentDevUrls()
const baseUrl = (vars.PLAID_BASE_URL || (real ? 'https://sandbox.plaid.com' : dev.emulator)).replace(/\/+$/, '')
const products = (vars.PLAID_PRODUCTS || 'transactions,auth')
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean)

// The Item's webhooks go to the API that `npm run dev` serves (or PLAID_WEBHOOK_URL when set, e.g.
// a tunnel that Plaid's Sandbox can reach).
const webhook = vars.PLAID_WEBHOOK_URL || `${dev.api}/api/v1/banking/webhooks`

let response: Response
try {
  response = await fetch(`${baseUrl}/sandbox/public_token/create`, {
    method: 'POST',
    headers: real
      ? plaidHeaders(vars.PLAID_CLIENT_ID as string, vars.PLAID_SECRET as string)
      : plaidHeaders(EMULATOR_CLIENT_ID, EMULATOR_SECRET),
    body: JSON.stringify({ institution_id: institutionId, initial_products: products, options: { webhook } }),
    signal: AbortSignal.timeout(30_000),
  })
} catch (error) {
  const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message
  console.error(
    real
      ? `Could not reach Plaid at ${baseUrl} (${reason}).`
      : `The Plaid emulator is not running at ${baseUrl} (${reason}); start it with npm run dev.`,
  )
  process.exit(1)
}

const text = await response.text()
let data: Record<string, unknown> = {}
try {
  data = JSON.parse(text) as Record<string, unknown>
} catch {
  // Not JSON (a proxy's error page, say): reported below with the HTTP status.
}
if (!response.ok || typeof data.public_token !== 'string') {
  const what =
    typeof data.error_code === 'string'
      ? `${data.error_code}: ${data.error_message}`
      : `HTTP ${response.status}: ${text.slice(0, 200)}`
  console.error(`${real ? 'Plaid Sandbox' : 'The emulator'} refused /sandbox/public_token/create: ${what}`)
  process.exit(1)
}
console.log(data.public_token)
