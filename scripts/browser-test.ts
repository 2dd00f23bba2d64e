/**
 * Browser tests of the frontend's side: Debian's Chromium, driven by playwright-core, runs the
 * demo app (demo/) on an origin of its own against the API under `wrangler dev` and the Plaid
 * emulator, with the emulated Link in the page. Part of `npm test`, after vitest. Writes
 * .contract/browser-result.json ({passed, failed}), which .ci/run counts, and a screenshot of the
 * demo to .contract/demo.png (DEMO_SCREENSHOT=docs/demo.png to update the README's).
 *
 * Each test waits on page state with a bound; none sleeps for a fixed time.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { LINK_SCRIPT_PATH } from '../emulator/link-ui/session'
import { type DemoServer, startDemoServer } from './demo-server'
import { cleanup, devToken, emulatorControlOk, freePort, plaidCall, type Stack, startStack, tempDir } from './stack'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const RESULT_FILE = '.contract/browser-result.json'
const SCREENSHOT = process.env.DEMO_SCREENSHOT ?? '.contract/demo.png'
/** The bound on every wait for page state. */
const WAIT_MS = 15_000

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
const results: { name: string; ok: boolean }[] = []
let stack: Stack
let demo: DemoServer | undefined
let stranger: DemoServer | undefined
let context: BrowserContext | undefined
let page: Page
const pageErrors: string[] = []

/** Runs one test; later tests build on earlier ones, so after a failure the rest still run but may fail too. */
async function test(name: string, fn: () => Promise<void>) {
  const t0 = Date.now()
  try {
    await fn()
    assert.deepEqual(pageErrors.splice(0), [], 'uncaught errors in the page')
    results.push({ name, ok: true })
    console.log(`  ✓ ${name} (${Date.now() - t0} ms)`)
  } catch (error) {
    results.push({ name, ok: false })
    console.log(`  ✗ ${name}\n    ${String((error as Error).stack ?? error).replaceAll('\n', '\n    ')}`)
    pageErrors.length = 0
  }
}

/** Waits until `check` answers true (or a value), asking again every 100 ms, at most WAIT_MS. */
async function until<T>(what: string, check: () => Promise<T | false | undefined> | T | false | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value) return value
    } catch (error) {
      last = error
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`)
}

const text = (selector: string, expected: string | RegExp) =>
  page.locator(selector).filter({ hasText: expected }).first().waitFor({ timeout: WAIT_MS })
const itemRow = (institution: string) => page.locator('#items li.item', { hasText: institution })
const linkDialog = () => page.getByRole('dialog', { name: 'Plaid Link' })

async function signIn(user: string, ttl = '3600') {
  await page.locator('#user').fill(user)
  await page.locator('#ttl').selectOption(ttl)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

async function logIn(password: string) {
  const dialog = linkDialog()
  await dialog.getByLabel('Username').fill('user_good')
  await dialog.getByLabel('Password').fill(password)
  await dialog.getByRole('button', { name: 'Submit' }).click()
}

type EmulatorItem = {
  item_id: string
  access_token: string | null
  removed: boolean
  login_required: boolean
  account_ids: string[]
}
const emulatorItems = async () => (await emulatorControlOk<{ items: EmulatorItem[] }>(stack, 'GET', '/items')).items
const exchangeCalls = async () =>
  (await emulatorControlOk<Record<string, number>>(stack, 'GET', '/calls'))['/item/public_token/exchange'] ?? 0

async function main() {
  const demoPort = await freePort()
  const demoOrigin = `http://127.0.0.1:${demoPort}`
  stack = await startStack({
    workdir: tempDir('browser-test-'),
    // Only the demo's origin gets CORS; Items get this API's webhook URL, as under `npm run dev`.
    // A month of history (about 24 transactions) keeps "Load more" to a few pages; the default,
    // two years, would be some 60 pages of 10.
    vars: (apiUrl) => ({
      ALLOWED_ORIGINS: demoOrigin,
      PLAID_WEBHOOK_URL: `${apiUrl}/api/v1/banking/webhooks`,
      PLAID_TRANSACTIONS_DAYS_REQUESTED: '30',
    }),
  })
  const demoOptions = {
    apiUrl: stack.apiUrl,
    linkScriptUrl: `${stack.emulatorUrl}${LINK_SCRIPT_PATH}`,
    mintToken: (user: string, ttl: number) => devToken(user, ttl),
    pollMs: 500,
  }
  const app = await startDemoServer({ ...demoOptions, port: demoPort })
  demo = app
  // The same app on an origin ALLOWED_ORIGINS does not list.
  const elsewhere = await startDemoServer({ ...demoOptions, port: 0 })
  stranger = elsewhere

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
  page = browser.pages()[0] ?? (await browser.newPage())
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.goto(app.url)
  await page.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS })

  const user = `demo-${crypto.randomUUID().slice(0, 8)}`
  let itemId = ''

  await test("Link's onExit: INVALID_LINK_TOKEN for an unknown link token, and Plaid's metadata when closed", async () => {
    const exits = await page.evaluate(async (script) => {
      await new Promise((resolve, reject) => {
        const tag = Object.assign(document.createElement('script'), { src: script, onload: resolve, onerror: reject })
        document.head.append(tag)
      })
      const plaid = (window as unknown as { Plaid: { create: (o: object) => { open(): void } } }).Plaid
      return new Promise((resolve) =>
        plaid.create({ token: 'link-sandbox-unknown', onExit: (...args: unknown[]) => resolve(args) }).open(),
      )
    }, demoOptions.linkScriptUrl)
    assert.deepEqual(exits, [
      {
        error_type: 'INVALID_INPUT',
        error_code: 'INVALID_LINK_TOKEN',
        error_message: 'invalid link_token provided',
        display_message: null,
      },
      {
        institution: null,
        status: null,
        link_session_id: null,
        request_id: (exits as [unknown, { request_id: string }])[1].request_id,
      },
    ])
    assert.match((exits as [unknown, { request_id: string }])[1].request_id, /^[A-Za-z0-9]{15}$/)

    // A real link token; the user picks a bank, then closes Link on the credentials pane.
    const { link_token } = await plaidCall(stack, '/link/token/create', {
      client_name: 'Linked Accounts',
      language: 'en',
      country_codes: ['US'],
      user: { client_user_id: user },
      products: ['transactions'],
    })
    const exited = page.evaluate(
      (token) =>
        new Promise((resolve) => {
          const plaid = (window as unknown as { Plaid: { create: (o: object) => { open(): void } } }).Plaid
          plaid.create({ token, onExit: (...args: unknown[]) => resolve(args) }).open()
        }),
      link_token as string,
    )
    await linkDialog().getByRole('button', { name: 'Tartan Bank' }).click()
    await linkDialog().getByRole('button', { name: 'Close' }).click()
    const [error, metadata] = (await exited) as [unknown, Record<string, unknown>]
    assert.equal(error, null)
    assert.deepEqual(Object.keys(metadata).sort(), ['institution', 'link_session_id', 'request_id', 'status'])
    assert.deepEqual(metadata.institution, { name: 'Tartan Bank', institution_id: 'ins_109511' })
    assert.equal(metadata.status, 'requires_credentials')
    assert.match(String(metadata.link_session_id), /^[0-9a-f-]{36}$/)
    // The page is left as the app left it: reload so the app loads Link itself.
    await page.reload()
    await page.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS })
  })

  await test("links a bank: a wrong password shows Link's error, then onSuccess's body goes to the exchange as is", async () => {
    await signIn(user)
    await text('#items li', 'No bank linked yet.')
    const exchange = page.waitForRequest((r) => r.url().endsWith('/exchange-token') && r.method() === 'POST', {
      timeout: WAIT_MS,
    })
    await page.getByRole('button', { name: 'Connect a bank' }).click()
    await linkDialog().getByRole('button', { name: 'First Platypus Bank' }).click()
    await logIn('wrong')
    await linkDialog()
      .getByRole('alert')
      .filter({ hasText: 'The provided credentials were not correct. Please try again.' })
      .waitFor({ timeout: WAIT_MS })
    await logIn('pass_good')
    const body = (await exchange).postDataJSON() as { public_token: string; metadata: Record<string, unknown> }
    await text('#notice', 'Linked First Platypus Bank: 4 accounts.')
    assert.deepEqual(Object.keys(body).sort(), ['metadata', 'public_token'])
    assert.match(body.public_token, /^public-sandbox-/)
    const [item] = await emulatorItems()
    assert.ok(item)
    itemId = item.item_id
    assert.deepEqual(body.metadata, {
      institution: { name: 'First Platypus Bank', institution_id: 'ins_109508' },
      accounts: [
        ['Plaid Checking', '0000', 'depository', 'checking'],
        ['Plaid Saving', '1111', 'depository', 'savings'],
        ['Plaid CD', '2222', 'depository', 'cd'],
        ['Plaid Credit Card', '3333', 'credit', 'credit card'],
      ].map(([name, mask, type, subtype], i) => ({
        id: item.account_ids[i],
        name,
        mask,
        type,
        subtype,
        verification_status: null,
      })),
      link_session_id: (body.metadata as { link_session_id: string }).link_session_id,
      transfer_status: null,
    })
    assert.match(String(body.metadata.link_session_id), /^[0-9a-f-]{36}$/)
  })

  await test("shows the Item with its status, the accounts with balances, and the first sync's transactions", async () => {
    await itemRow('First Platypus Bank')
      .locator('.status', { hasText: /^good$/ })
      .waitFor({ timeout: WAIT_MS })
    const checking = page.locator('#accounts tr', { hasText: 'Plaid Checking ••0000' })
    await checking.locator('td', { hasText: '100.00 USD' }).waitFor({ timeout: WAIT_MS })
    await checking.locator('td', { hasText: '110.00 USD' }).waitFor({ timeout: WAIT_MS })
    assert.equal(await page.locator('#accounts tr').count(), 4)
    // No webhook and no click: the exchange queued the first sync, and the app polls.
    await page.locator('#transactions tr').first().waitFor({ timeout: WAIT_MS })
    await itemRow('First Platypus Bank')
      .locator('.synced', { hasText: /^transactions synced / })
      .waitFor({ timeout: WAIT_MS })
  })

  await test('transactions a webhook announces appear without a reload, all of them through "Load more"', async () => {
    type Live = { transactions: { transaction_id: string }[] }
    const before = new Set(
      (await emulatorControlOk<Live>(stack, 'GET', `/items/${itemId}/transactions`)).transactions.map(
        (t) => t.transaction_id,
      ),
    )
    const changed = await emulatorControlOk<{ webhook_fired: boolean }>(
      stack,
      'POST',
      `/items/${itemId}/transactions`,
      {
        add: 3,
        fire_webhook: true,
      },
    )
    assert.equal(changed.webhook_fired, true)
    const live = (await emulatorControlOk<Live>(stack, 'GET', `/items/${itemId}/transactions`)).transactions
    const expected = live.map((t) => t.transaction_id).sort()
    assert.equal(expected.filter((id) => !before.has(id)).length, 3)
    const rows = page.locator('#transactions tr')
    const more = page.getByRole('button', { name: 'Load more' })
    await until('every transaction Plaid holds, new ones included, listed in the page', async () => {
      while (await more.isVisible()) {
        const count = await rows.count()
        await more.click({ timeout: WAIT_MS })
        await until('the next page', async () => (await rows.count()) > count || !(await more.isVisible()))
      }
      const shown = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.transactionId ?? ''))
      return JSON.stringify([...shown].sort()) === JSON.stringify(expected)
    })
    const dates = await page.locator('#transactions tr td:first-child').allTextContents()
    assert.deepEqual(dates, [...dates].sort().reverse(), 'newest first')
  })

  await test('refreshes balances live from the bank', async () => {
    await page.getByRole('button', { name: 'Refresh balances' }).click()
    await text('#notice', 'Balances refreshed for 4 accounts.')
    // The emulator moves money by 1.25 on the first real-time balance call.
    await page
      .locator('#accounts tr', { hasText: 'Plaid Checking ••0000' })
      .locator('td', { hasText: '101.25 USD' })
      .waitFor({ timeout: WAIT_MS })
    await page.screenshot({ path: SCREENSHOT })
  })

  await test("CORS: the demo's origin passes the preflight; another origin's fetch fails", async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.apiUrl}/api/v1/banking/items`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'authorization',
        },
      })
    const allowed = await preflight(app.url)
    assert.equal(allowed.headers.get('Access-Control-Allow-Origin'), app.url)
    assert.match(allowed.headers.get('Access-Control-Allow-Headers') ?? '', /authorization/i)
    assert.equal((await preflight(elsewhere.url)).headers.get('Access-Control-Allow-Origin'), null)

    const token = await devToken(user, 600)
    // A call with a bearer token, so the browser sends a preflight first.
    const call = ([api, bearer]: string[]) =>
      fetch(`${api}/api/v1/banking/items`, { headers: { Authorization: `Bearer ${bearer}` } })
        .then((r) => `status ${r.status}`)
        .catch((e: Error) => `${e.name}: ${e.message}`)
    assert.equal(await page.evaluate(call, [stack.apiUrl, token]), 'status 200')

    const other = await browser.newPage()
    try {
      await other.goto(elsewhere.url)
      await other.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS })
      assert.equal(await other.evaluate(call, [stack.apiUrl, token]), 'TypeError: Failed to fetch')
      // The app there says what is wrong rather than failing silently.
      await other.locator('#user').fill(user)
      await other.getByRole('button', { name: 'Sign in' }).click()
      await other
        .locator('#error')
        .filter({ hasText: `is ${elsewhere.url} in its ALLOWED_ORIGINS?` })
        .waitFor({ timeout: WAIT_MS })
    } finally {
      await other.close()
    }
  })

  await test("linking the same login again shows the API's 409 detail, refused before any exchange", async () => {
    const exchanges = await exchangeCalls()
    await page.getByRole('button', { name: 'Connect a bank' }).click()
    await linkDialog().getByRole('button', { name: 'First Platypus Bank' }).click()
    await logIn('pass_good')
    await text('#error', /^409: this login is already linked/)
    // Only Link's metadata lets the API see the duplicate before exchanging the public token.
    assert.equal(await exchangeCalls(), exchanges)
    assert.equal(await page.locator('#items li.item').count(), 1)
  })

  await test('update mode: a login expired at the bank shows login_required; Fix login repairs it', async () => {
    await emulatorControlOk(stack, 'POST', `/items/${itemId}/login-required`)
    await page.getByRole('button', { name: 'Refresh balances' }).click()
    await text('#error', /^400: .*login/i)
    const row = itemRow('First Platypus Bank')
    await row.locator('.status', { hasText: /^login_required$/ }).waitFor({ timeout: WAIT_MS })
    await row.getByRole('button', { name: 'Fix login' }).click()
    await linkDialog().getByText('Log in to First Platypus Bank').waitFor({ timeout: WAIT_MS })
    await logIn('wrong')
    await linkDialog().getByRole('alert').filter({ hasText: 'not correct' }).waitFor({ timeout: WAIT_MS })
    await logIn('pass_good')
    await text('#notice', 'First Platypus Bank: login repaired.')
    await row.locator('.status', { hasText: /^good$/ }).waitFor({ timeout: WAIT_MS })
    assert.equal(await row.getByRole('button', { name: 'Fix login' }).count(), 0)
    // Repaired in place: the Item keeps its id and no other Item got an access token.
    const items = await emulatorItems()
    assert.equal(items.find((i) => i.item_id === itemId)?.login_required, false)
    assert.deepEqual(
      items.filter((i) => i.access_token !== null).map((i) => i.item_id),
      [itemId],
    )
  })

  await test('new accounts at the bank: Add accounts opens Link to share them', async () => {
    await emulatorControlOk(stack, 'POST', `/items/${itemId}/fire-webhook`, { webhook_code: 'NEW_ACCOUNTS_AVAILABLE' })
    const row = itemRow('First Platypus Bank')
    await row.getByRole('button', { name: 'Add accounts' }).click({ timeout: WAIT_MS })
    await linkDialog().getByRole('button', { name: 'Continue' }).click()
    await text('#notice', 'First Platypus Bank: accounts updated.')
    await until(
      'the Add accounts button to go',
      async () => (await row.getByRole('button', { name: 'Add accounts' }).count()) === 0,
    )
  })

  await test('removes the Item: gone from the page and at Plaid', async () => {
    await itemRow('First Platypus Bank').getByRole('button', { name: 'Remove' }).click()
    await text('#notice', 'Removed First Platypus Bank.')
    await text('#items li', 'No bank linked yet.')
    assert.equal(await page.locator('#accounts tr').count(), 0)
    assert.equal(await page.locator('#transactions tr').count(), 0)
    assert.equal((await emulatorItems()).find((i) => i.item_id === itemId)?.removed, true)
  })

  await test("an expired token shows the API's 401 detail and signs the user out", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await signIn(user, '-600')
    await text('#error', 'Signed out (401): token has expired')
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: WAIT_MS })
  })
}

let fatal: unknown
try {
  await main()
} catch (error) {
  fatal = error
  console.error(`browser tests could not run: ${(error as Error).stack ?? error}`)
} finally {
  await context?.close().catch(() => {})
  await Promise.all([demo?.close(), stranger?.close()].map((p) => p?.catch(() => {})))
  await cleanup()
}
const passed = results.filter((r) => r.ok).length
const failed = results.length - passed + (fatal ? 1 : 0)
const seconds = Math.round((Date.now() - started) / 100) / 10
writeResult(passed, failed, seconds)
console.log(`\nbrowser tests: ${passed} passed, ${failed} failed (${seconds} s)`)
process.exit(failed === 0 ? 0 : 1)
