/**
 * An OAuth bank (the emulator's Platypus OAuth Bank) from the demo app: in a pop-up when the API
 * sets no PLAID_REDIRECT_URI, and through the demo's redirect page when it does (a new link,
 * update mode, and a resume with the wrong link token failing as Link fails).
 */
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { REDIRECT_PATH } from '../../scripts/demo-server'
import { emulatorControlOk } from '../../scripts/lib/plaid'
import type { Stack } from '../../scripts/lib/stack'
import { devToken } from '../../scripts/lib/tokens'
import {
  type DemoStack,
  emulatorItems,
  exchangeCalls,
  expectLater,
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

const BANK = 'Platypus OAuth Bank'
const BANK_ID = 'ins_127287'
/** Where the demo keeps the Link session the redirect page resumes (demo/app.js). */
const LINK_KEY = 'linked-accounts:link'

const liveOAuthItems = async (stack: Stack) =>
  (await emulatorItems(stack)).filter((i) => i.institution_id === BANK_ID && !i.removed)

/** In Link: pick the OAuth bank and continue to it. */
async function continueToBank(page: Page) {
  await linkDialog(page).getByRole('button', { name: BANK }).click()
  await linkDialog(page)
    .getByRole('button', { name: `Continue to ${BANK}` })
    .click()
}

/** The whole page is at the bank's own page, on the emulator's origin. */
async function atTheBank(page: Page, stack: Stack) {
  await page.waitForURL((url) => url.origin === stack.emulatorUrl, { timeout: WAIT_MS })
  await page.getByRole('heading', { name: BANK }).waitFor({ timeout: WAIT_MS })
}

/** The popup test: the API without a redirect URI. */
export async function oauthPopupTests(test: Test, { stack, demo, page }: DemoStack & { page: Page }) {
  await test('an OAuth bank without a redirect URI: its page opens in a pop-up and Link finishes in the app', async () => {
    await page.goto(demo.url)
    await waitReady(page)
    await signIn(page, `popup-${crypto.randomUUID().slice(0, 8)}`)
    await text(page, '#items li', 'No bank linked yet.')
    await page.getByRole('button', { name: 'Connect a bank' }).click()
    const opened = expectLater(page.waitForEvent('popup', { timeout: WAIT_MS }))
    await continueToBank(page)
    const popup = await opened
    await popup.getByRole('heading', { name: BANK }).waitFor({ timeout: WAIT_MS })
    assert.equal(new URL(popup.url()).origin, stack.emulatorUrl)
    await linkDialog(page).getByText(`Finish logging in to ${BANK} in the window that opened.`).waitFor()
    await logIn(popup, 'pass_good', 'Allow access')
    await text(page, '#notice', `Linked ${BANK}: 4 accounts.`)
    await until('the pop-up to close', () => popup.isClosed())
    // The app never left its page.
    assert.equal(page.url(), `${demo.url}/`)
    await itemRow(page, BANK)
      .locator('.status', { hasText: /^good$/ })
      .waitFor({ timeout: WAIT_MS })
    assert.equal((await liveOAuthItems(stack)).length, 1)
  })
}

/** The redirect tests: the API's PLAID_REDIRECT_URI is the demo's redirect page. */
export async function oauthRedirectTests(test: Test, { stack, demo, page }: DemoStack & { page: Page }) {
  const user = `redirect-${crypto.randomUUID().slice(0, 8)}`
  const visited: string[] = []
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) visited.push(frame.url())
  })

  await test('an OAuth bank through the redirect: the page goes to the bank, and the redirect page resumes Link and exchanges', async () => {
    await page.goto(demo.url)
    await waitReady(page)
    await signIn(page, user)
    await text(page, '#items li', 'No bank linked yet.')
    const exchange = nextExchange(page)
    await page.getByRole('button', { name: 'Connect a bank' }).click()
    await continueToBank(page)
    await atTheBank(page, stack)
    await logIn(page, 'wrong', 'Allow access')
    await text(page, '[role=alert]', 'The username or password is not correct.')
    visited.length = 0
    await logIn(page, 'pass_good', 'Allow access')
    await text(page, '#notice', `Linked ${BANK}: 4 accounts.`)
    // Back at the redirect page with the state, which the app then drops from the address.
    assert.match(visited[0] ?? '', new RegExp(`^${demo.url}${REDIRECT_PATH}\\?oauth_state_id=[0-9a-f-]{36}$`))
    assert.equal(page.url(), `${demo.url}/`)
    const body = (await exchange).postDataJSON() as { metadata: { institution: unknown } }
    assert.deepEqual(body.metadata.institution, { name: BANK, institution_id: BANK_ID })
    // Resumed with the link token made before the trip: the redirect page made none.
    const { link_tokens } = await emulatorControlOk<{ link_tokens: { redirect_uri: string }[] }>(
      stack,
      'GET',
      '/link-tokens',
    )
    assert.deepEqual(
      link_tokens.map((t) => t.redirect_uri),
      [`${demo.url}${REDIRECT_PATH}`],
    )
    await itemRow(page, BANK)
      .locator('.status', { hasText: /^good$/ })
      .waitFor({ timeout: WAIT_MS })
    assert.equal((await liveOAuthItems(stack)).length, 1)
  })

  await test('update mode at the OAuth bank: Fix login goes through the bank and the redirect page refreshes the Item', async () => {
    const [item] = await liveOAuthItems(stack)
    assert.ok(item)
    await emulatorControlOk(stack, 'POST', `/items/${item.item_id}/login-required`)
    await page.getByRole('button', { name: 'Refresh balances' }).click()
    await shownError(page, 'Your bank needs you to log in again: use Fix login beside it.')
    const row = itemRow(page, BANK)
    await row.locator('.status', { hasText: /^login_required$/ }).waitFor({ timeout: WAIT_MS })
    const exchanges = await exchangeCalls(stack)
    await row.getByRole('button', { name: 'Fix login' }).click()
    await linkDialog(page)
      .getByRole('button', { name: `Continue to ${BANK}` })
      .click()
    await atTheBank(page, stack)
    await logIn(page, 'pass_good', 'Allow access')
    await text(page, '#notice', `${BANK}: login repaired.`)
    await row.locator('.status', { hasText: /^good$/ }).waitFor({ timeout: WAIT_MS })
    // Repaired in place: no exchange, no new Item.
    assert.equal(await exchangeCalls(stack), exchanges)
    assert.deepEqual(
      (await liveOAuthItems(stack)).map((i) => [i.item_id, i.login_required]),
      [[item.item_id, false]],
    )
  })

  await test('a resume with another link token fails as Link fails (INCORRECT_LINK_TOKEN): the user is told, nothing is linked', async () => {
    const exchanges = await exchangeCalls(stack)
    await page.getByRole('button', { name: 'Connect a bank' }).click()
    await linkDialog(page).getByRole('button', { name: BANK }).waitFor({ timeout: WAIT_MS })
    // Another live link token of this user takes the place of the one Link was opened with.
    const res = await fetch(`${stack.apiUrl}/api/v1/banking/link-token`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await devToken(user, 600)}` },
    })
    const { link_token: other } = (await res.json()) as { link_token: string }
    await page.evaluate(
      ([key, token]) => {
        const kept = JSON.parse(sessionStorage.getItem(key as string) ?? '{}')
        sessionStorage.setItem(key as string, JSON.stringify({ ...kept, link_token: token }))
      },
      [LINK_KEY, other],
    )
    await continueToBank(page)
    await atTheBank(page, stack)
    await logIn(page, 'pass_good', 'Allow access')
    const detail = await shownError(page, 'Your bank login could not be finished. Connect the bank again.')
    assert.equal(detail, 'Link: INCORRECT_LINK_TOKEN (link token does not match original link token)')
    assert.equal(await exchangeCalls(stack), exchanges)
    assert.equal((await liveOAuthItems(stack)).length, 1)
    assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), LINK_KEY), null)
  })
}
