// The demo frontend: what a web app does with this API, in plain JS. Every call goes to the API's
// own origin (cross-origin, with a preflight), with the user's bearer token.
const $ = (id) => document.getElementById(id)
const config = await (await fetch('/config.json')).json()
const API = `${config.apiUrl}/api/v1/banking`
// Kept in sessionStorage (this tab only) so both survive an OAuth bank's full-page redirect: the
// signed-in session, and the Link session the redirect page resumes.
const SESSION_KEY = 'linked-accounts:session'
const LINK_KEY = 'linked-accounts:link'

let token = null
let pages = { first: null, more: [], cursor: null }
let shown = {} // the JSON last rendered per section, so polling only redraws what changed
let accounts = []

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body.detail)
    this.status = status
    this.body = body
    this.retryAfter = retryAfter
  }
}

/** Link closed with an error (its onExit `error`). */
class LinkExitError extends Error {
  constructor(error) {
    super(error.error_message ?? error.error_code)
    this.link = error
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(`${API}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status === 204) return null
  const json = await res.json().catch(() => ({ detail: `${res.status} ${res.statusText}` }))
  if (!res.ok) throw new ApiError(res.status, json, res.headers.get('Retry-After'))
  return json
}

/**
 * What the user is told for each kind of failure (see README, "Wiring your frontend"), and the
 * developer's detail (kept in the console and the message's title, never shown as the message).
 */
function describeError(error) {
  if (error instanceof ApiError) {
    const detail = `${error.status}: ${error.message}`
    const text = (() => {
      if (error.status === 401) return 'Your session has ended. Sign in again.'
      if (error.status === 429)
        return `Too many requests just now. Try again in ${error.retryAfter ?? 'a few'} seconds.`
      if (error.status === 409 && error.body.item_id) return 'This bank login is already linked.'
      if (error.status === 409) return 'That was already done. The list below is up to date.'
      if (error.status === 404) return 'That bank is no longer linked. The list below is up to date.'
      if (error.status === 400 && error.body.error_code === 'ITEM_LOGIN_REQUIRED')
        return 'Your bank needs you to log in again: use Fix login beside it.'
      if (error.status === 400 && error.body.display_message) return error.body.display_message
      if (error.status === 400 && error.body.retryable) {
        const wait = error.retryAfter ? ` in ${error.retryAfter} seconds` : ' later'
        return `Your bank could not do this just now. Try again${wait}.`
      }
      if (error.status === 400 && error.body.error_code)
        return 'Your bank could not do this. Contact us if it keeps happening.'
      if (error.status >= 500 && error.body.retryable)
        return 'The connection to your bank failed just now. Try again in a moment.'
      if (error.status >= 500) return 'Something went wrong on our side. Try again in a moment.'
      return 'Something went wrong. Try again, or reload the page.'
    })()
    return { text, detail }
  }
  if (error instanceof LinkExitError) {
    const { error_code: code, error_type: type, display_message: shown } = error.link
    const detail = `Link: ${code} (${error.message})`
    if (shown) return { text: shown, detail }
    if (type === 'OAUTH_ERROR')
      return { text: 'Your bank login could not be finished. Connect the bank again.', detail }
    if (code === 'INVALID_LINK_TOKEN') return { text: 'Linking took too long. Connect the bank again.', detail }
    return { text: 'Linking did not finish. Try again.', detail }
  }
  if (error instanceof TypeError) {
    return {
      text: 'Could not reach the service. Check your connection and try again.',
      detail: `Could not reach the API at ${config.apiUrl} (${error.message}). Is it running, and is ${location.origin} in its ALLOWED_ORIGINS?`,
    }
  }
  return { text: error.userMessage ?? 'Something went wrong. Try again.', detail: error.message }
}

function showError(error) {
  const { text, detail } = describeError(error)
  if (error instanceof ApiError && error.status === 401) signOut()
  // An earlier success no longer describes the page: only the failure stays.
  $('notice').textContent = ''
  $('error').textContent = text
  $('error').title = detail
  $('error').dataset.detail = detail
  $('error').hidden = false
  console.warn(detail)
  // The Item is gone or the action was done already: show the list as it is now.
  if (error instanceof ApiError && (error.status === 404 || error.status === 409) && token) refresh().catch(() => {})
}

function notice(text) {
  $('notice').textContent = text
  $('error').hidden = true
}

// A user action: one at a time, errors shown.
const action = (fn) => async () => {
  try {
    await fn()
  } catch (error) {
    showError(error)
  }
}

function loadLink() {
  if (window.Plaid) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const script = document.createElement('script')
    script.src = config.linkScriptUrl
    script.onload = resolve
    script.onerror = () => reject(new Error(`Could not load Plaid Link from ${config.linkScriptUrl}`))
    document.head.append(script)
  })
}

/**
 * Opens Link for `link`: `{ mode: "link" }` for a new bank, `{ mode: "update", item_id, ... }` for
 * update mode. The link token and its mode are kept before Link opens: at an OAuth bank with a
 * redirect URI the page leaves for the bank, and the redirect page resumes Link with them.
 */
async function openLink(link) {
  await loadLink()
  const body = link.mode === 'update' ? { item_id: link.item_id, account_selection: link.account_selection } : undefined
  const { link_token } = await api('POST', '/link-token', body)
  const pending = { ...link, link_token }
  sessionStorage.setItem(LINK_KEY, JSON.stringify(pending))
  launchLink(pending)
}

/** Creates Link for a kept Link session; `receivedRedirectUri` when back from an OAuth bank. */
function launchLink(pending, receivedRedirectUri) {
  const handler = window.Plaid.create({
    token: pending.link_token,
    ...(receivedRedirectUri && { receivedRedirectUri }),
    onSuccess: (publicToken, metadata) => {
      sessionStorage.removeItem(LINK_KEY)
      handler.destroy()
      action(() => FINISH[pending.mode](pending, publicToken, metadata))()
    },
    onExit: (error, metadata) => {
      sessionStorage.removeItem(LINK_KEY)
      handler.destroy()
      if (error) showError(new LinkExitError(error))
      else notice(`Link closed${metadata.institution ? ` at ${metadata.institution.name}` : ''}.`)
    },
  })
  handler.open()
}

/** What each mode does with Link's onSuccess. */
const FINISH = {
  // Link's onSuccess metadata goes to the API as is: it checks for a duplicate before exchanging.
  async link(_pending, public_token, metadata) {
    const linked = await api('POST', '/exchange-token', { public_token, metadata })
    notice(`Linked ${linked.item.institution_name ?? 'the bank'}: ${linked.accounts.length} accounts.`)
    await refresh()
  },
  // Update mode: Link's public token is not exchanged; a refresh reads the repaired Item from Plaid.
  async update(pending) {
    await api('POST', `/items/${pending.item_id}/refresh`)
    notice(`${pending.institution_name}: ${pending.account_selection ? 'accounts updated' : 'login repaired'}.`)
    await refresh()
  },
}

const connect = () => openLink({ mode: 'link' })

const update = (item, accountSelection) =>
  openLink({
    mode: 'update',
    item_id: item.item_id,
    institution_name: item.institution_name,
    ...(accountSelection && { account_selection: true }),
  })

/**
 * The redirect page (PLAID_REDIRECT_URI points here): an OAuth bank sent the browser back with
 * `?oauth_state_id=...`. Link resumes with the same link token and this URL, never a new token.
 */
async function resumeLink() {
  const receivedRedirectUri = location.href
  // The state can be used once: a reload of this page must not try it again.
  history.replaceState(null, '', '/')
  const pending = JSON.parse(sessionStorage.getItem(LINK_KEY) ?? 'null')
  if (!pending || !token) {
    throw Object.assign(new Error('back from the bank, but no Link session or sign-in is kept in this tab'), {
      userMessage: 'This bank login could not be finished here. Sign in and connect the bank again.',
    })
  }
  await loadLink()
  launchLink(pending, receivedRedirectUri)
}

async function remove(item) {
  await api('DELETE', `/items/${item.item_id}`)
  notice(`Removed ${item.institution_name}.`)
  await refresh()
}

async function sync(item) {
  const result = await api('POST', `/items/${item.item_id}/sync`)
  notice(`${item.institution_name}: ${result.added} new, ${result.modified} changed, ${result.removed} removed.`)
  await refresh()
}

const DEAD_STATUSES = ['permission_revoked', 'disconnected']
const el = (tag, text, attrs = {}) => Object.assign(document.createElement(tag), { textContent: text ?? '' }, attrs)
const button = (text, onclick) => el('button', text, { type: 'button', onclick: action(onclick) })
const money = (n, currency) => (n === null || n === undefined ? '–' : `${n.toFixed(2)} ${currency ?? ''}`.trim())

function renderItems(items) {
  $('items').replaceChildren(
    ...items.map((item) => {
      const li = el('li', '', { className: 'item' })
      li.dataset.itemId = item.item_id
      const status = el('span', item.status, { className: `status${item.status === 'good' ? '' : ' attention'}` })
      // The sync state: when transactions were last brought up to date (the first sync runs just after linking).
      const deadline = item.disconnect_time ?? item.consent_expiration_time
      const synced = item.transactions_synced_at
        ? `transactions synced ${new Date(item.transactions_synced_at).toLocaleTimeString()}`
        : 'first sync pending'
      li.append(
        el('strong', item.institution_name ?? item.institution_id ?? 'Unknown bank'),
        status,
        el('span', synced, { className: 'synced' }),
      )
      if (deadline) li.append(el('span', `reconnect by ${new Date(deadline).toLocaleDateString()}`))
      // Plaid will not serve these again: update mode cannot help, a new link can.
      if (DEAD_STATUSES.includes(item.status)) li.append(el('span', 'Remove it, then connect the bank again.'))
      else if (item.status !== 'good') li.append(button('Fix login', () => update(item, false)))
      if (item.new_accounts_available) li.append(button('Add accounts', () => update(item, true)))
      li.append(
        button('Sync', () => sync(item)),
        button('Remove', () => remove(item)),
      )
      return li
    }),
  )
  if (items.length === 0) $('items').append(el('li', 'No bank linked yet.'))
}

function renderAccounts(items) {
  const bank = Object.fromEntries(items.map((i) => [i.item_id, i.institution_name]))
  $('accounts').replaceChildren(
    ...accounts.map((a) => {
      const tr = el('tr')
      const c = a.balances.iso_currency_code
      tr.append(
        el('td', bank[a.item_id] ?? ''),
        el('td', `${a.name}${a.mask ? ` ••${a.mask}` : ''}`),
        el('td', a.subtype ?? a.type),
        el('td', money(a.balances.available, c), { className: 'num' }),
        el('td', money(a.balances.current, c), { className: 'num' }),
      )
      return tr
    }),
  )
}

function renderTransactions() {
  const name = Object.fromEntries(accounts.map((a) => [a.account_id, a.name]))
  const rows = [...pages.first.transactions, ...pages.more].map((t) => {
    const tr = el('tr')
    tr.dataset.transactionId = t.transaction_id
    tr.append(
      el('td', t.date),
      el('td', `${t.merchant_name ?? t.name ?? ''}${t.pending ? ' (pending)' : ''}`),
      el('td', name[t.account_id] ?? ''),
      el('td', money(-t.amount, t.iso_currency_code), { className: 'num' }),
    )
    return tr
  })
  $('transactions').replaceChildren(...rows)
  $('more').hidden = pages.cursor === null
}

/** Reads Items, accounts and the first page of transactions, and redraws what changed. */
async function refresh() {
  const [listed, listedAccounts, first] = await Promise.all([
    api('GET', '/items'),
    api('GET', '/accounts'),
    api('GET', '/transactions?limit=10'),
  ])
  const changed = (key, value) => {
    const json = JSON.stringify(value)
    if (shown[key] === json) return false
    shown[key] = json
    return true
  }
  accounts = listedAccounts.accounts
  if (changed('items', listed.items)) renderItems(listed.items)
  const accountsChanged = changed('accounts', [accounts, listed.items])
  if (accountsChanged) renderAccounts(listed.items)
  // A new first page: whatever was paged in after it may be stale.
  const firstChanged = changed('transactions', first)
  if (firstChanged) pages = { first, more: [], cursor: first.next_cursor }
  if (firstChanged || accountsChanged) renderTransactions()
  $('app').dataset.loaded = 'true'
}

async function loadMore() {
  // One page at a time: a second click on the same cursor would list that page twice.
  $('more').disabled = true
  try {
    const page = await api('GET', `/transactions?limit=10&cursor=${encodeURIComponent(pages.cursor)}`)
    pages.more.push(...page.transactions)
    pages.cursor = page.next_cursor
    renderTransactions()
  } finally {
    $('more').disabled = false
  }
}

// Live balances: asks the banks, then shows what came back. A bank checked moments ago keeps
// that check's balances; a bank that failed keeps its last ones, and says so.
async function refreshBalances() {
  const refreshed = await api('GET', '/accounts?refresh=true')
  const outcomes = refreshed.balances_refresh ?? []
  const failed = outcomes.filter((o) => o.outcome === 'failed')
  const live = outcomes.length - failed.length
  notice(
    failed.length === 0
      ? `Balances are live for ${live} ${live === 1 ? 'bank' : 'banks'}.`
      : `Balances are live for ${live} of ${outcomes.length} banks; the others show their last known balances.`,
  )
  await refresh()
}

let poller = null
function signOut() {
  token = null
  sessionStorage.removeItem(SESSION_KEY)
  sessionStorage.removeItem(LINK_KEY)
  clearInterval(poller)
  shown = {}
  accounts = []
  pages = { first: null, more: [], cursor: null }
  $('app').hidden = true
  $('session').hidden = true
  $('sign-in').hidden = false
}

async function signIn(event) {
  event.preventDefault()
  const user = $('user').value.trim()
  const res = await fetch(`/dev-token?user=${encodeURIComponent(user)}&ttl=${$('ttl').value}`)
  const json = await res.json()
  if (!res.ok) throw new Error(json.detail)
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ user, token: json.token }))
  notice('')
  await enter(user, json.token)
}

/** Shows the signed-in app for `user`, and keeps it current. */
async function enter(user, bearer) {
  token = bearer
  $('signed-in-user').textContent = user
  $('session').hidden = false
  $('sign-in').hidden = true
  $('app').hidden = false
  await refresh()
  // Webhooks change Items and bring transactions while the page is open: re-read them now and then.
  clearInterval(poller)
  poller = setInterval(() => token && refresh().catch(showError), config.pollMs)
}

$('sign-in').addEventListener('submit', (event) => action(() => signIn(event))())
$('sign-out').onclick = signOut
$('connect').onclick = action(connect)
$('refresh-balances').onclick = action(refreshBalances)
$('more').onclick = action(loadMore)

// A signed-in tab keeps its session across reloads and the OAuth redirect.
const kept = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null')
const backFromBank = new URLSearchParams(location.search).has('oauth_state_id')
await action(async () => {
  if (kept) await enter(kept.user, kept.token)
  if (backFromBank) await resumeLink()
})()
document.body.dataset.ready = 'true'
