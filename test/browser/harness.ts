/**
 * What the browser tests share: the runner (`test`, with uncaught page errors failing the test),
 * bounded waits on page state, and the demo app's and the emulated Link's controls. No test
 * sleeps for a fixed time: each waits on page state, at most WAIT_MS.
 */
import assert from 'node:assert/strict'
import type { Locator, Page } from 'playwright-core'
import type { DemoServer } from '../../scripts/demo-server'
import { emulatorControlOk } from '../../scripts/lib/plaid'
import type { Stack } from '../../scripts/lib/stack'

/** The bound on every wait for page state. */
export const WAIT_MS = 15_000

/** One API with its emulator, and the demo app pointed at it. */
export type DemoStack = { stack: Stack; demo: DemoServer }

export type Results = { name: string; ok: boolean }[]

/**
 * Runs one test; later tests build on earlier ones, so after a failure the rest still run but may
 * fail too. `pageErrors` collects the page's uncaught errors: any left at the end fails the test.
 */
export function testRunner(results: Results, pageErrors: string[]) {
  return async function test(name: string, fn: () => Promise<void>) {
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
}

export type Test = ReturnType<typeof testRunner>

/** Waits until `check` answers true (or a value), asking again every 100 ms, at most WAIT_MS. */
export async function until<T>(
  what: string,
  check: () => Promise<T | false | undefined> | T | false | undefined,
): Promise<T> {
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

/** The first element matching `selector` whose text matches, once it is there. */
export const text = (page: Page, selector: string, expected: string | RegExp) =>
  page.locator(selector).filter({ hasText: expected }).first().waitFor({ timeout: WAIT_MS })

export const itemRow = (page: Page, institution: string) => page.locator('#items li.item', { hasText: institution })
export const linkDialog = (page: Page) => page.getByRole('dialog', { name: 'Plaid Link' })

/** The error the demo shows the user, with the developer's detail it keeps beside it. */
export async function shownError(page: Page, expected: string | RegExp): Promise<string> {
  await text(page, '#error', expected)
  return (await page.locator('#error').getAttribute('data-detail')) ?? ''
}

/**
 * Starts waiting for `what` now, to be awaited later in the test. If the test fails before it
 * awaits it, the wait's own timeout must not end the whole run as an unhandled rejection.
 */
export function expectLater<T>(what: Promise<T>): Promise<T> {
  what.catch(() => {})
  return what
}

/** The POST /exchange-token the page sends next. */
export const nextExchange = (page: Page) =>
  expectLater(
    page.waitForRequest((r) => r.url().endsWith('/exchange-token') && r.method() === 'POST', { timeout: WAIT_MS }),
  )

export async function waitReady(page: Page) {
  await page.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS })
}

export async function signIn(page: Page, user: string, ttl = '3600') {
  await page.locator('#user').fill(user)
  await page.locator('#ttl').selectOption(ttl)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** Fills a Sandbox login (Link's dialog, or an OAuth bank's page) and submits it with `submit`. */
export async function logIn(form: Page | Locator, password: string, submit = 'Submit') {
  await form.getByLabel('Username').fill('user_good')
  await form.getByLabel('Password').fill(password)
  await form.getByRole('button', { name: submit }).click()
}

export type EmulatorItem = {
  item_id: string
  institution_id: string
  access_token: string | null
  removed: boolean
  login_required: boolean
  account_ids: string[]
}

export const emulatorItems = async (stack: Stack) =>
  (await emulatorControlOk<{ items: EmulatorItem[] }>(stack, 'GET', '/items')).items

export const exchangeCalls = async (stack: Stack) =>
  (await emulatorControlOk<Record<string, number>>(stack, 'GET', '/calls'))['/item/public_token/exchange'] ?? 0
