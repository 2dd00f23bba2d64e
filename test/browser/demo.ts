/**
 * The demo app in Chromium against the API and the emulator, with the emulated Link: linking
 * (a wrong password first), what the page shows, webhooks, balances, CORS, duplicates, update
 * mode, new accounts, removal and an expired token. The tests build on each other, in order.
 */
import assert from 'node:assert/strict'
import type { BrowserContext, Page } from 'playwright-core'
import type { DemoServer } from '../../scripts/demo-server'
import { emulatorControlOk, plaidCall } from '../../scripts/lib/plaid'
import { devToken } from '../../scripts/lib/tokens'
import {
  type DemoStack,
  emulatorItems,
  exchangeCalls,
  itemRow,
  linkDialog,
  logIn,
  nextExchange,
  shownError,
  signIn,
  type Test,
  text,
  until,
  WAIT_MS,
  waitReady,
} from './harness'

export type DemoTestOptions = DemoStack & {
  browser: BrowserContext
  page: Page
  /** The same app on an origin ALLOWED_ORIGINS does not list. */
  elsewhere: DemoServer
  linkScriptUrl: string
  /** Where the screenshot of the demo goes. */
  screenshot: string
}

export async function demoTests(
  test: Test,
  { stack, demo: app, elsewhere, browser, page, linkScriptUrl, screenshot }: DemoTestOptions,
) {
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
    }, linkScriptUrl)
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
    await linkDialog(page).getByRole('button', { name: 'Tartan Bank' }).click()
    await linkDialog(page).getByRole('button', { name: 'Close' }).click()
    const [error, metadata] = (await exited) as [unknown, Record<string, unknown>]
    assert.equal(error, null)
    assert.deepEqual(Object.keys(metadata).sort(), ['institution', 'link_session_id', 'request_id', 'status'])
    assert.deepEqual(metadata.institution, { name: 'Tartan Bank', institution_id: 'ins_109511' })
    assert.equal(metadata.status, 'requires_credentials')
    assert.match(String(metadata.link_session_id), /^[0-9a-f-]{36}$/)
    // The page is left as the app left it: reload so the app loads Link itself.
    await page.reload()
    await waitReady(page)
  })

  await test("links a bank: a wrong password shows Link's error, then onSuccess's body goes to the exchange as is", async () => {
    await signIn(page, user)
    await text(page, '#items li', 'No bank linked yet.')
    const exchange = nextExchange(page)
    await page.getByRole('button', { name: 'Connect a bank' }).click()
    await linkDialog(page).getByRole('button', { name: 'First Platypus Bank' }).click()
    await logIn(linkDialog(page), 'wrong')
    await linkDialog(page)
      .getByRole('alert')
      .filter({ hasText: 'The provided credentials were not correct. Please try again.' })
      .waitFor({ timeout: WAIT_MS })
    await logIn(linkDialog(page), 'pass_good')
    const body = (await exchange).postDataJSON() as { public_token: string; metadata: Record<string, unknown> }
    await text(page, '#notice', 'Linked First Platypus Bank: 4 accounts.')
    assert.deepEqual(Object.keys(body).sort(), ['metadata', 'public_token'])
    assert.match(body.public_token, /^public-sandbox-/)
    const [item] = await emulatorItems(stack)
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
    await itemRow(page, 'First Platypus Bank')
      .locator('.status', { hasText: /^good$/ })
      .waitFor({ timeout: WAIT_MS })
    const checking = page.locator('#accounts tr', { hasText: 'Plaid Checking ••0000' })
    await checking.locator('td', { hasText: '100.00 USD' }).waitFor({ timeout: WAIT_MS })
    await checking.locator('td', { hasText: '110.00 USD' }).waitFor({ timeout: WAIT_MS })
    assert.equal(await page.locator('#accounts tr').count(), 4)
    // No webhook and no click: the exchange queued the first sync, and the app polls.
    await page.locator('#transactions tr').first().waitFor({ timeout: WAIT_MS })
    await itemRow(page, 'First Platypus Bank')
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
    await text(page, '#notice', 'Balances are live for 1 bank.')
    // The emulator moves money on each change of balances, in a fixed cycle: +1.25 with the activity
    // the webhook above announced (which its sync showed), then -0.5 with this live check.
    await page
      .locator('#accounts tr', { hasText: 'Plaid Checking ••0000' })
      .locator('td', { hasText: '100.75 USD' })
      .waitFor({ timeout: WAIT_MS })
    await page.screenshot({ path: screenshot })
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
      await waitReady(other)
      assert.equal(await other.evaluate(call, [stack.apiUrl, token]), 'TypeError: Failed to fetch')
      // The app there tells the user, and keeps what is wrong for the developer, rather than failing silently.
      await other.locator('#user').fill(user)
      await other.getByRole('button', { name: 'Sign in' }).click()
      const detail = await shownError(other, 'Could not reach the service. Check your connection and try again.')
      assert.ok(detail.endsWith(`is ${elsewhere.url} in its ALLOWED_ORIGINS?`), detail)
    } finally {
      await other.close()
    }
  })

  await test('linking the same login again says so, refused before any exchange; the stale success notice goes', async () => {
    const exchanges = await exchangeCalls(stack)
    await text(page, '#notice', 'Balances are live for 1 bank.')
    await page.getByRole('button', { name: 'Connect a bank' }).click()
    await linkDialog(page).getByRole('button', { name: 'First Platypus Bank' }).click()
    await logIn(linkDialog(page), 'pass_good')
    assert.match(await shownError(page, /^This bank login is already linked\.$/), /^409: this login is already linked/)
    assert.equal(await page.locator('#notice').textContent(), '')
    // Only Link's metadata lets the API see the duplicate before exchanging the public token.
    assert.equal(await exchangeCalls(stack), exchanges)
    assert.equal(await page.locator('#items li.item').count(), 1)
  })

  await test('update mode: a login expired at the bank shows login_required; Fix login repairs it', async () => {
    await emulatorControlOk(stack, 'POST', `/items/${itemId}/login-required`)
    // A sync meets the expired login at once (a balance refresh moments after the last one would
    // show that check's balances: one live check per Item every 12 s).
    await itemRow(page, 'First Platypus Bank').getByRole('button', { name: 'Sync' }).click()
    assert.match(
      await shownError(page, 'Your bank needs you to log in again: use Fix login beside it.'),
      /^400: .*login/i,
    )
    const row = itemRow(page, 'First Platypus Bank')
    await row.locator('.status', { hasText: /^login_required$/ }).waitFor({ timeout: WAIT_MS })
    await row.getByRole('button', { name: 'Fix login' }).click()
    await linkDialog(page).getByText('Log in to First Platypus Bank').waitFor({ timeout: WAIT_MS })
    await logIn(linkDialog(page), 'wrong')
    await linkDialog(page).getByRole('alert').filter({ hasText: 'not correct' }).waitFor({ timeout: WAIT_MS })
    await logIn(linkDialog(page), 'pass_good')
    await text(page, '#notice', 'First Platypus Bank: login repaired.')
    await row.locator('.status', { hasText: /^good$/ }).waitFor({ timeout: WAIT_MS })
    assert.equal(await row.getByRole('button', { name: 'Fix login' }).count(), 0)
    // Repaired in place: the Item keeps its id and no other Item got an access token.
    const items = await emulatorItems(stack)
    assert.equal(items.find((i) => i.item_id === itemId)?.login_required, false)
    assert.deepEqual(
      items.filter((i) => i.access_token !== null).map((i) => i.item_id),
      [itemId],
    )
  })

  await test('new accounts at the bank: Add accounts opens Link to share them', async () => {
    await emulatorControlOk(stack, 'POST', `/items/${itemId}/fire-webhook`, { webhook_code: 'NEW_ACCOUNTS_AVAILABLE' })
    const row = itemRow(page, 'First Platypus Bank')
    await row.getByRole('button', { name: 'Add accounts' }).click({ timeout: WAIT_MS })
    await linkDialog(page).getByRole('button', { name: 'Continue' }).click()
    await text(page, '#notice', 'First Platypus Bank: accounts updated.')
    await until(
      'the Add accounts button to go',
      async () => (await row.getByRole('button', { name: 'Add accounts' }).count()) === 0,
    )
  })

  await test('removes the Item: gone from the page and at Plaid', async () => {
    await itemRow(page, 'First Platypus Bank').getByRole('button', { name: 'Remove' }).click()
    await text(page, '#notice', 'Removed First Platypus Bank.')
    await text(page, '#items li', 'No bank linked yet.')
    assert.equal(await page.locator('#accounts tr').count(), 0)
    assert.equal(await page.locator('#transactions tr').count(), 0)
    assert.equal((await emulatorItems(stack)).find((i) => i.item_id === itemId)?.removed, true)
  })

  await test("an expired token signs the user out, keeping the API's 401 detail for the developer", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await signIn(page, user, '-600')
    assert.equal(await shownError(page, 'Your session has ended. Sign in again.'), '401: token has expired')
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: WAIT_MS })
  })
}
