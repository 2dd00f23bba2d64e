import { describe, expect, it } from 'vitest'
import {
  controlItems,
  DEFAULT_ACCOUNTS,
  invalidCredentials,
  invalidLinkToken,
  link,
  linkToken,
  REQUEST_ID,
  SESSION_ID,
} from './link'
import { EMULATOR_URL, emulatorWithClock, linkedItem, newClientId, plaid, WEBHOOK_URL } from './plaid'

describe('emulated Link: a new Item', () => {
  it('opens a session listing the Sandbox institutions', async () => {
    const token = await linkToken(newClientId(), { products: ['transactions'] })
    const opened = await link('open', { link_token: token })
    expect(opened).toEqual({
      status: 200,
      body: {
        link_session_id: expect.stringMatching(SESSION_ID),
        institutions: expect.arrayContaining([
          { name: 'First Platypus Bank', institution_id: 'ins_109508', oauth: false },
          { name: 'Platypus OAuth Bank', institution_id: 'ins_127287', oauth: true },
          { name: 'Chase', institution_id: 'ins_56', oauth: true },
        ]),
        update: null,
        resumed: null,
        request_id: expect.stringMatching(REQUEST_ID),
      },
    })
    expect(opened.body.institutions).toHaveLength(7)
  })

  it("answers onSuccess's public token and metadata, and the Item gets the link token's products and webhook", async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions', 'auth'], webhook: WEBHOOK_URL })
    const sessionId = (await link('open', { link_token: token })).body.link_session_id
    const completed = await link('complete', {
      link_token: token,
      link_session_id: sessionId,
      institution_id: 'ins_109511',
      username: 'user_good',
      password: 'pass_good',
    })
    expect(completed).toEqual({
      status: 200,
      body: {
        public_token: expect.stringMatching(/^public-sandbox-/),
        metadata: {
          institution: { name: 'Tartan Bank', institution_id: 'ins_109511' },
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
    const [item] = await controlItems(clientId)
    expect(item).toMatchObject({
      item_id: exchanged.body.item_id,
      institution_id: 'ins_109511',
      products: ['transactions', 'auth'],
      webhook: WEBHOOK_URL,
    })
    const metadata = completed.body.metadata as { accounts: Array<{ id: string }> }
    expect(item?.account_ids).toEqual(metadata.accounts.map((a) => a.id))
  })

  it("refuses a wrong password with Link's INVALID_CREDENTIALS and lets the user try again", async () => {
    const clientId = newClientId()
    const token = await linkToken(clientId, { products: ['transactions'] })
    const sessionId = (await link('open', { link_token: token })).body.link_session_id
    const login = { link_token: token, link_session_id: sessionId, institution_id: 'ins_109508', username: 'user_good' }
    expect(await link('complete', { ...login, password: 'wrong' })).toEqual(invalidCredentials())
    expect(await controlItems(clientId)).toEqual([])
    expect((await link('complete', { ...login, password: 'pass_good' })).status).toBe(200)
  })

  it('refuses an unknown link token, and one from another client, with INVALID_LINK_TOKEN', async () => {
    expect(await link('open', { link_token: `link-sandbox-${crypto.randomUUID()}` })).toEqual(
      invalidLinkToken('invalid link_token provided'),
    )
    expect(await link('open', {})).toEqual(invalidLinkToken('invalid link_token provided'))
  })

  it('refuses a link token 4 hours old with INVALID_LINK_TOKEN, at open and at login', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z')
    const own = await emulatorWithClock(() => now)
    const clientId = newClientId()
    const created = await plaid(
      clientId,
      '/link/token/create',
      {
        client_name: 'Linked Accounts',
        language: 'en',
        country_codes: ['US'],
        user: { client_user_id: 'user-123' },
        products: ['transactions'],
      },
      { via: own.fetch },
    )
    const token = created.body.link_token
    const opened = await link('open', { link_token: token }, own.fetch)
    expect(opened.status).toBe(200)
    now += 4 * 3600_000
    expect(await link('open', { link_token: token }, own.fetch)).toEqual(invalidLinkToken('link token has expired'))
    const login = {
      link_token: token,
      link_session_id: opened.body.link_session_id,
      institution_id: 'ins_109508',
      username: 'user_good',
      password: 'pass_good',
    }
    expect(await link('complete', login, own.fetch)).toEqual(invalidLinkToken('link token has expired'))
  })

  it('answers the preflight of a web app on any origin', async () => {
    const response = await fetch(`${EMULATOR_URL}/link/session/open`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://127.0.0.1:8789',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('*')
    expect(response.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('content-type')
  })
})

describe('emulated Link: update mode', () => {
  it('repairs the Item in ITEM_LOGIN_REQUIRED that the link token names, creating none', async () => {
    const clientId = newClientId()
    const { accessToken, itemId } = await linkedItem(clientId)
    await fetch(`${EMULATOR_URL}/emulator/items/${itemId}/login-required`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': clientId },
    })
    const token = await linkToken(clientId, { access_token: accessToken })
    const opened = await link('open', { link_token: token })
    expect(opened.body.update).toEqual({
      institution: { name: 'First Platypus Bank', institution_id: 'ins_109508', oauth: false },
      credentials_required: true,
      accounts: DEFAULT_ACCOUNTS,
    })
    const login = { link_token: token, link_session_id: opened.body.link_session_id, username: 'user_good' }
    expect(await link('complete', { ...login, password: 'wrong' })).toEqual(invalidCredentials())
    expect((await controlItems(clientId))[0]?.login_required).toBe(true)

    const completed = await link('complete', { ...login, password: 'pass_good' })
    expect(completed.body.metadata).toEqual({
      institution: { name: 'First Platypus Bank', institution_id: 'ins_109508' },
      accounts: DEFAULT_ACCOUNTS,
      link_session_id: opened.body.link_session_id,
      transfer_status: null,
    })
    const items = await controlItems(clientId)
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({ item_id: itemId, login_required: false })
    // Update mode's public token need not be exchanged; if it is, it names the same Item.
    const exchanged = await plaid(clientId, '/item/public_token/exchange', {
      public_token: completed.body.public_token,
    })
    expect(exchanged.body).toMatchObject({ item_id: itemId, access_token: accessToken })
  })

  it("leaves the Item's history as it was when the update-mode token asks for more (Plaid cannot change it)", async () => {
    const clientId = newClientId()
    // Linked with the emulator's default history of 30 days, before its first sync.
    const { accessToken, itemId } = await linkedItem(clientId)
    await fetch(`${EMULATOR_URL}/emulator/items/${itemId}/login-required`, {
      method: 'POST',
      headers: { 'PLAID-CLIENT-ID': clientId },
    })
    const token = await linkToken(clientId, { access_token: accessToken, transactions: { days_requested: 730 } })
    const opened = await link('open', { link_token: token })
    const login = { link_token: token, link_session_id: opened.body.link_session_id, username: 'user_good' }
    expect((await link('complete', { ...login, password: 'pass_good' })).status).toBe(200)
    const synced = await plaid(clientId, '/transactions/sync', { access_token: accessToken, count: 500 })
    expect(synced.body.has_more).toBe(false)
    const dates = (synced.body.added as { date: string }[]).map((t) => t.date).sort()
    expect(dates.length).toBeGreaterThan(0)
    expect((dates[0] ?? '') >= new Date(Date.now() - 31 * 86_400_000).toISOString().slice(0, 10)).toBe(true)
  })

  it('asks no password of a healthy Item whose link token selects accounts', async () => {
    const clientId = newClientId()
    const { accessToken } = await linkedItem(clientId)
    const token = await linkToken(clientId, { access_token: accessToken, update: { account_selection_enabled: true } })
    const opened = await link('open', { link_token: token })
    expect(opened.body.update).toMatchObject({ credentials_required: false })
    const completed = await link('complete', { link_token: token, link_session_id: opened.body.link_session_id })
    expect(completed).toMatchObject({ status: 200, body: { metadata: { accounts: DEFAULT_ACCOUNTS } } })
  })

  it('refuses the link token of an Item removed since with INVALID_LINK_TOKEN', async () => {
    const clientId = newClientId()
    const { accessToken } = await linkedItem(clientId)
    const token = await linkToken(clientId, { access_token: accessToken })
    expect((await plaid(clientId, '/item/remove', { access_token: accessToken })).status).toBe(200)
    expect(await link('open', { link_token: token })).toEqual(
      invalidLinkToken('the Item of this update-mode link token was removed'),
    )
  })
})
