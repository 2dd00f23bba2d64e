import { describe, expect, it } from 'vitest'
import {
  type Answer,
  APP_ORIGIN,
  controlItems,
  DEFAULT_ACCOUNTS,
  link,
  linkToken,
  REQUEST_ID,
  SESSION_ID,
} from './link'
import { EMULATOR_URL, newClientId, plaid, plaidError } from './plaid'

// Plaid's Sandbox OAuth institution, "Platypus OAuth Bank".
const OAUTH_BANK = 'ins_127287'
const REDIRECT_URI = 'https://app.example.com/oauth-return'
const INSTITUTION = { name: 'Platypus OAuth Bank', institution_id: OAUTH_BANK }

const oauthError = (code: string, message: string | null) => plaidError(400, 'OAUTH_ERROR', code, message)
const NOT_FOUND = oauthError('OAUTH_STATE_ID_NOT_FOUND', "the provided oauth_state_id wasn't found")
const INCORRECT_LINK_TOKEN = oauthError('INCORRECT_LINK_TOKEN', 'link token does not match original link token')
const ALREADY_PROCESSED = oauthError('OAUTH_STATE_ID_ALREADY_PROCESSED', null)

/** The bank's page, as the browser sees it: GET shows the form, POST logs in (manual redirects). */
async function bank(url: string, login?: { username: string; password: string; oauth_state_id: string }) {
  const response = await fetch(url, {
    method: login ? 'POST' : 'GET',
    redirect: 'manual',
    ...(login && { body: new URLSearchParams(login) }),
  })
  return { status: response.status, location: response.headers.get('Location'), html: await response.text() }
}

/** Link opened with `token`, the user picks the OAuth bank and Link sends them there. */
async function startTrip(token: string, institutionId = OAUTH_BANK) {
  const opened = await link('open', { link_token: token })
  expect(opened.status).toBe(200)
  const sessionId = opened.body.link_session_id as string
  const trip = await link('oauth', { link_token: token, link_session_id: sessionId, institution_id: institutionId })
  return { sessionId, trip }
}

/** The user logs in at the bank with Plaid Sandbox's login; the bank's redirect. */
async function consent(trip: Answer): Promise<URL> {
  const { url, oauth_state_id } = trip.body as { url: string; oauth_state_id: string }
  const answered = await bank(url, { username: 'user_good', password: 'pass_good', oauth_state_id })
  expect(answered.status).toBe(303)
  return new URL(answered.location as string)
}

/** Link, back from the bank, finishes with the trip's state. */
const finishTrip = (token: string, sessionId: string, trip: Answer) =>
  link('complete', {
    link_token: token,
    link_session_id: sessionId,
    institution_id: OAUTH_BANK,
    oauth_state_id: trip.body.oauth_state_id,
  })

/** An Item at the OAuth bank, whose login the bank now asks for again. */
async function oauthItemNeedingLogin(clientId: string): Promise<{ accessToken: string; itemId: string }> {
  const created = await plaid(clientId, '/sandbox/public_token/create', {
    institution_id: OAUTH_BANK,
    initial_products: ['transactions'],
  })
  const exchanged = await plaid(clientId, '/item/public_token/exchange', { public_token: created.body.public_token })
  const itemId = exchanged.body.item_id as string
  const expired = await fetch(`${EMULATOR_URL}/emulator/items/${itemId}/login-required`, {
    method: 'POST',
    headers: { 'PLAID-CLIENT-ID': clientId },
  })
  expect(expired.status).toBe(200)
  return { accessToken: exchanged.body.access_token as string, itemId }
}

describe('emulated Link: an OAuth bank through the redirect (link token with redirect_uri)', () => {
  it("sends the browser to the bank's page on the emulator's origin, which returns it to redirect_uri with oauth_state_id", async () => {
    const token = await linkToken(newClientId(), { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const { trip } = await startTrip(token)
    expect(trip).toEqual({
      status: 200,
      body: {
        oauth_state_id: expect.stringMatching(SESSION_ID),
        url: `${EMULATOR_URL}/bank/${OAUTH_BANK}/authorize?oauth_state_id=${trip.body.oauth_state_id}`,
        redirect: true,
        request_id: expect.stringMatching(REQUEST_ID),
      },
    })
    const page = await bank(trip.body.url as string)
    expect(page.status).toBe(200)
    expect(page.html).toContain('<title>Platypus OAuth Bank</title>')
    const back = await consent(trip)
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI)
    expect([...back.searchParams]).toEqual([['oauth_state_id', trip.body.oauth_state_id]])
  })

  it('keeps the user at the bank on a wrong password, and Link creates no Item', async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const { trip } = await startTrip(token)
    const { url, oauth_state_id } = trip.body as { url: string; oauth_state_id: string }
    const refused = await bank(url, { username: 'user_good', password: 'wrong', oauth_state_id })
    expect(refused.status).toBe(401)
    expect(refused.location).toBeNull()
    expect(refused.html).toContain('The username or password is not correct.')
    // Not authorized at the bank: Link cannot resume with it.
    const resumed = await link('open', {
      link_token: token,
      received_redirect_uri: `${REDIRECT_URI}?oauth_state_id=${oauth_state_id}`,
    })
    expect(resumed).toEqual(NOT_FOUND)
    expect(await controlItems(clientId)).toEqual([])
  })

  it('finishes only when Link is re-created with the same link token and the redirect URI: one Item, at the OAuth bank', async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const { sessionId, trip } = await startTrip(token)
    const back = await consent(trip)
    const resumed = await link('open', { link_token: token, received_redirect_uri: back.href })
    expect(resumed).toMatchObject({
      status: 200,
      body: {
        link_session_id: sessionId,
        resumed: { institution: { ...INSTITUTION, oauth: true }, oauth_state_id: trip.body.oauth_state_id },
      },
    })
    const completed = await finishTrip(token, sessionId, trip)
    expect(completed).toEqual({
      status: 200,
      body: {
        public_token: expect.stringMatching(/^public-sandbox-/),
        metadata: {
          institution: INSTITUTION,
          accounts: DEFAULT_ACCOUNTS,
          link_session_id: sessionId,
          transfer_status: null,
        },
        request_id: expect.stringMatching(REQUEST_ID),
      },
    })
    const exchanged = await plaid(clientId, '/item/public_token/exchange', {
      public_token: completed.body.public_token,
    })
    expect(exchanged.status).toBe(200)
    expect(await controlItems(clientId)).toMatchObject([
      { item_id: exchanged.body.item_id, institution_id: OAUTH_BANK },
    ])
  })

  it("refuses a resume with another link token with Link's INCORRECT_LINK_TOKEN, and the right one still finishes", async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const other = await linkToken(clientId, { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const { sessionId, trip } = await startTrip(token)
    const back = await consent(trip)
    expect(await link('open', { link_token: other, received_redirect_uri: back.href })).toEqual(INCORRECT_LINK_TOKEN)
    const finish = { link_session_id: sessionId, institution_id: OAUTH_BANK, oauth_state_id: trip.body.oauth_state_id }
    expect(await link('complete', { ...finish, link_token: other })).toEqual(INCORRECT_LINK_TOKEN)
    expect(await controlItems(clientId)).toEqual([])
    expect((await link('complete', { ...finish, link_token: token })).status).toBe(200)
  })

  it('refuses a state used once already with OAUTH_STATE_ID_ALREADY_PROCESSED (a second tab, a reload)', async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const { sessionId, trip } = await startTrip(token)
    const back = await consent(trip)
    const finish = {
      link_token: token,
      link_session_id: sessionId,
      institution_id: OAUTH_BANK,
      oauth_state_id: trip.body.oauth_state_id,
    }
    expect((await link('complete', finish)).status).toBe(200)
    expect(await link('open', { link_token: token, received_redirect_uri: back.href })).toEqual(ALREADY_PROCESSED)
    expect(await link('complete', finish)).toEqual(ALREADY_PROCESSED)
    expect(await controlItems(clientId)).toHaveLength(1)
  })

  it('refuses a redirect URI without a known oauth_state_id with OAUTH_STATE_ID_NOT_FOUND', async () => {
    const token = await linkToken(newClientId(), { products: ['transactions'], redirect_uri: REDIRECT_URI })
    for (const received of [REDIRECT_URI, `${REDIRECT_URI}?oauth_state_id=${crypto.randomUUID()}`, 'not a url']) {
      expect(await link('open', { link_token: token, received_redirect_uri: received })).toEqual(NOT_FOUND)
    }
  })

  it('lets no Item be created at the OAuth bank without the trip: no state, or one the bank never authorized', async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const { sessionId, trip } = await startTrip(token)
    const login = { link_token: token, link_session_id: sessionId, institution_id: OAUTH_BANK }
    expect(await link('complete', { ...login, username: 'user_good', password: 'pass_good' })).toEqual(
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        `oauth_state_id is required: ${OAUTH_BANK} logs in through OAuth`,
      ),
    )
    expect(await link('complete', { ...login, oauth_state_id: trip.body.oauth_state_id })).toEqual(NOT_FOUND)
    expect(await controlItems(clientId)).toEqual([])
  })

  it('sends no one to the bank for an institution that logs in inside Link', async () => {
    const token = await linkToken(newClientId(), { products: ['transactions'], redirect_uri: REDIRECT_URI })
    const { trip } = await startTrip(token, 'ins_109508')
    expect(trip).toEqual(
      plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', 'ins_109508 does not log in through OAuth'),
    )
  })

  it('refuses a redirect_uri with query parameters at /link/token/create, as Plaid does', async () => {
    const created = await plaid(newClientId(), '/link/token/create', {
      client_name: 'Linked Accounts',
      language: 'en',
      country_codes: ['US'],
      user: { client_user_id: 'user-123' },
      products: ['transactions'],
      redirect_uri: `${REDIRECT_URI}?from=plaid`,
    })
    expect(created).toEqual(
      plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', 'redirect_uri must not contain query parameters'),
    )
  })
})

describe('emulated Link: an OAuth bank in a pop-up (link token without redirect_uri)', () => {
  it("returns the pop-up to Plaid's page, which posts the state to the page that opened Link, and Link finishes there", async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions'] })
    const { sessionId, trip } = await startTrip(token)
    expect(trip.body.redirect).toBe(false)
    const back = await consent(trip)
    expect(`${back.origin}${back.pathname}`).toBe(`${EMULATOR_URL}/link/oauth/return`)
    expect(back.searchParams.get('oauth_state_id')).toBe(trip.body.oauth_state_id)
    const popup = await fetch(back)
    expect(popup.status).toBe(200)
    const message = JSON.stringify({ type: 'plaid-link-oauth', oauth_state_id: trip.body.oauth_state_id })
    expect(await popup.text()).toContain(`window.opener?.postMessage(${message}, "${APP_ORIGIN}"); window.close()`)
    const completed = await finishTrip(token, sessionId, trip)
    expect(completed).toMatchObject({
      status: 200,
      body: { metadata: { institution: INSTITUTION, link_session_id: sessionId } },
    })
    expect(await controlItems(clientId)).toHaveLength(1)
    // Done: the return page no longer hands the state to anyone.
    expect((await fetch(back)).status).toBe(404)
  })
})

describe('emulated Link: update mode at an OAuth bank', () => {
  it('repairs the Item through the bank, with the same resume rules, creating none', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await oauthItemNeedingLogin(clientId)
    const token = await linkToken(clientId, { access_token: accessToken, redirect_uri: REDIRECT_URI })
    const opened = await link('open', { link_token: token })
    expect(opened.body.update).toMatchObject({
      institution: { ...INSTITUTION, oauth: true },
      credentials_required: true,
    })
    const sessionId = opened.body.link_session_id as string
    // Update mode goes to the Item's own bank, whatever institution_id says.
    const trip = await link('oauth', { link_token: token, link_session_id: sessionId })
    const back = await consent(trip)
    const other = await linkToken(clientId, { access_token: accessToken, redirect_uri: REDIRECT_URI })
    expect(await link('open', { link_token: other, received_redirect_uri: back.href })).toEqual(INCORRECT_LINK_TOKEN)
    expect((await link('open', { link_token: token, received_redirect_uri: back.href })).status).toBe(200)
    const completed = await link('complete', {
      link_token: token,
      link_session_id: sessionId,
      oauth_state_id: trip.body.oauth_state_id,
    })
    expect(completed).toMatchObject({ status: 200, body: { metadata: { institution: INSTITUTION } } })
    expect(await controlItems(clientId)).toMatchObject([{ item_id: itemId, login_required: false }])
  })

  it('asks for the trip, not a password, to repair an OAuth Item', async () => {
    const clientId = newClientId()
    const { accessToken } = await oauthItemNeedingLogin(clientId)
    const token = await linkToken(clientId, { access_token: accessToken })
    const opened = await link('open', { link_token: token })
    const login = {
      link_token: token,
      link_session_id: opened.body.link_session_id,
      username: 'user_good',
      password: 'pass_good',
    }
    expect(await link('complete', login)).toEqual(
      plaidError(
        400,
        'INVALID_REQUEST',
        'INVALID_FIELD',
        `oauth_state_id is required: ${OAUTH_BANK} logs in through OAuth`,
      ),
    )
    expect((await controlItems(clientId))[0]?.login_required).toBe(true)
  })
})
