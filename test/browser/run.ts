/**
 * Browser tests of the frontend's side: Debian's Chromium, driven by playwright-core, runs the
 * demo app (demo/) on an origin of its own against the API under `wrangler dev` and the Plaid
 * emulator, with the emulated Link in the page: ./browser/demo.ts, then an OAuth bank in a pop-up
 * and through the redirect page (./browser/oauth.ts), against a second API whose
 * PLAID_REDIRECT_URI is that page. Part of `npm test`, after vitest. Writes
 * .contract/browser-result.json ({passed, failed}), which .ci/run counts, and a screenshot of the
 * demo to .contract/demo.png (DEMO_SCREENSHOT=docs/demo.png to update the README's).
 *
 * Each test waits on page state with a bound; none sleeps for a fixed time.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { LINK_SCRIPT_PATH } from '../../emulator/link-ui/session'
import { type DemoServer, REDIRECT_PATH, startDemoServer } from '../../scripts/demo-server'
import { cleanup, freePort, tempDir } from '../../scripts/lib/process'
import { type Stack, startStack } from '../../scripts/lib/stack'
import { devToken } from '../../scripts/lib/tokens'
import { demoTests } from './demo'
import { type DemoStack, type Results, testRunner, waitReady } from './harness'
import { oauthPopupTests, oauthRedirectTests } from './oauth'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const RESULT_FILE = '.contract/browser-result.json'
const SCREENSHOT = process.env.DEMO_SCREENSHOT ?? '.contract/demo.png'

function writeResult(passed: number, failed: number, seconds: number) {
  mkdirSync(dirname(RESULT_FILE), { recursive: true })
  writeFileSync(RESULT_FILE, `${JSON.stringify({ passed, failed, seconds })}\n`)
}

if (!existsSync(CHROMIUM)) {
  console.error(
    `\nBrowser tests: no Chromium at ${CHROMIUM}. Install Debian's (about a minute):\n\n` +
      '    sudo apt-get install -y chromium\n\n' +
      '(or point CHROMIUM_PATH at a Chromium or Chrome binary).\n',
  )
  writeResult(0, 1, 0)
  process.exit(1)
}

const started = Date.now()
const results: Results = []
const pageErrors: string[] = []
const test = testRunner(results, pageErrors)
const servers: DemoServer[] = []
let context: BrowserContext | undefined

/**
 * The API (with its emulator) under `wrangler dev`, and the demo app on the free `demoPort`, its
 * only origin in ALLOWED_ORIGINS. Items get this API's webhook URL, as under `npm run dev`;
 * `redirect` makes the demo's redirect page the API's PLAID_REDIRECT_URI.
 */
async function demoStack(demoPort: number, { redirect }: { redirect: boolean }): Promise<DemoStack> {
  const demoOrigin = `http://127.0.0.1:${demoPort}`
  const stack: Stack = await startStack({
    workdir: tempDir('browser-test-'),
    vars: (apiUrl) => ({
      ALLOWED_ORIGINS: demoOrigin,
      PLAID_WEBHOOK_URL: `${apiUrl}/api/v1/banking/webhooks`,
      // A month of history (about 24 transactions) keeps "Load more" to a few pages; the default,
      // two years, would be some 60 pages of 10.
      PLAID_TRANSACTIONS_DAYS_REQUESTED: '30',
      ...(redirect && { PLAID_REDIRECT_URI: `${demoOrigin}${REDIRECT_PATH}` }),
    }),
  })
  const demo = await startDemoServer({ ...demoOptions(stack), port: demoPort })
  servers.push(demo)
  return { stack, demo }
}

const demoOptions = (stack: Stack) => ({
  apiUrl: stack.apiUrl,
  linkScriptUrl: `${stack.emulatorUrl}${LINK_SCRIPT_PATH}`,
  mintToken: (user: string, ttl: number) => devToken(user, ttl),
  pollMs: 500,
})

async function main() {
  // Two APIs: the Worker's PLAID_REDIRECT_URI decides between Link's pop-up and the redirect.
  const [popupStack, redirectStack] = await Promise.all([
    freePort().then((port) => demoStack(port, { redirect: false })),
    freePort().then((port) => demoStack(port, { redirect: true })),
  ])
  // The same app on an origin ALLOWED_ORIGINS does not list.
  const elsewhere = await startDemoServer({ ...demoOptions(popupStack.stack), port: 0 })
  servers.push(elsewhere)

  const browser = await chromium.launchPersistentContext(tempDir('chromium-profile-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1000, height: 900 },
  })
  context = browser
  // tsx compiles with esbuild's keepNames, which wraps functions (those we hand to page.evaluate
  // too) in a __name() helper that only exists in Node.
  await browser.addInitScript('window.__name = (fn) => fn')
  const page = browser.pages()[0] ?? (await browser.newPage())
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.goto(popupStack.demo.url)
  await waitReady(page)

  await demoTests(test, {
    ...popupStack,
    browser,
    page,
    elsewhere,
    linkScriptUrl: demoOptions(popupStack.stack).linkScriptUrl,
    screenshot: SCREENSHOT,
  })
  await oauthPopupTests(test, { ...popupStack, page })
  await oauthRedirectTests(test, { ...redirectStack, page })
}

let fatal: unknown
try {
  await main()
} catch (error) {
  fatal = error
  console.error(`browser tests could not run: ${(error as Error).stack ?? error}`)
} finally {
  await context?.close().catch(() => {})
  await Promise.all(servers.map((server) => server.close().catch(() => {})))
  await cleanup()
}
const passed = results.filter((r) => r.ok).length
const failed = results.length - passed + (fatal ? 1 : 0)
const seconds = Math.round((Date.now() - started) / 100) / 10
writeResult(passed, failed, seconds)
console.log(`\nbrowser tests: ${passed} passed, ${failed} failed (${seconds} s)`)
process.exit(failed === 0 ? 0 : 1)
