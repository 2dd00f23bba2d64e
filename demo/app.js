// The demo frontend: what a web app does with this API, in plain JS. Every call goes to the API's
// own origin (cross-origin, with a preflight), with the user's bearer token.
const $ = (id) => document.getElementById(id)
const config = await (await fetch('/config.json')).json()
const API = `${config.apiUrl}/api/v1/banking`

let token = null
let pages = { first: null, more: [], cursor: null }
let shown = {} // the JSON last rendered per section, so polling only redraws what changed
let accounts = []

class ApiError extends Error {
  constructor(status, detail, retryAfter) {
    super(detail)
    this.status = status
    this.retryAfter = retryAfter
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
  if (!res.ok) throw new ApiError(res.status, json.detail, res.headers.get('Retry-After'))
  return json
}

// What the user is told for each kind of failure (see README, "Wiring your frontend").
function showError(error) {
  let text
  if (error instanceof ApiError && error.status === 401) {
    signOut()
    text = `Signed out (401): ${error.message}. Sign in again.`
  } else if (error instanceof ApiError && error.status === 429) {
    text = `${error.message} (try again in ${error.retryAfter ?? 'a few'} s)`
  } else if (error instanceof ApiError) {
    text = `${error.status}: ${error.message}`
  } else if (error instanceof TypeError) {
    text = `Could not reach the API at ${config.apiUrl} (${error.message}). Is it running, and is ${location.origin} in its ALLOWED_ORIGINS?`
  } else {
    text = error.message
  }
  $('error').textContent = text
  $('error').hidden = false
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

/** Opens Link with a link token made from `body`; `done` gets onSuccess's arguments. */
async function openLink(body, done) {
  await loadLink()
  const { link_token } = await api('POST', '/link-token', body)
  const handler = window.Plaid.create({
    token: link_token,
    onSuccess: (publicToken, metadata) => {
      handler.destroy()
      action(() => done(publicToken, metadata))()
    },
    onExit: (error, metadata) => {
      handler.destroy()
      if (error) showError(new Error(`Link: ${error.display_message ?? error.error_message} (${error.error_code})`))
      else notice(`Link closed${metadata.institution ? ` at ${metadata.institution.name}` : ''}.`)
    },
  })
  handler.open()
}

const connect = () =>
  openLink(undefined, async (public_token, metadata) => {
    // Link's onSuccess metadata goes to the API as is: it checks for a duplicate before exchanging.
    const linked = await api('POST', '/exchange-token', { public_token, metadata })
    notice(`Linked ${linked.item.institution_name ?? 'the bank'}: ${linked.accounts.length} accounts.`)
    await refresh()
  })

// Update mode: Link's public token is not exchanged; a refresh reads the repaired Item from Plaid.
const update = (item, accountSelection) =>
  openLink({ item_id: item.item_id, ...(accountSelection && { account_selection: true }) }, async () => {
    await api('POST', `/items/${item.item_id}/refresh`)
    notice(`${item.institution_name}: ${accountSelection ? 'accounts updated' : 'login repaired'}.`)
    await refresh()
  })

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
      const synced = item.transactions_synced_at
        ? `transactions synced ${new Date(item.transactions_synced_at).toLocaleTimeString()}`
        : 'first sync pending'
      li.append(
        el('strong', item.institution_name ?? item.institution_id ?? 'Unknown bank'),
        status,
        el('span', synced, { className: 'synced' }),
      )
      if (item.status !== 'good') li.append(button('Fix login', () => update(item, false)))
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

// Live balances: asks the banks, then shows what came back.
async function refreshBalances() {
  const refreshed = await api('GET', '/accounts?refresh=true')
  notice(`Balances refreshed for ${refreshed.accounts.length} accounts.`)
  await refresh()
}

let poller = null
function signOut() {
  token = null
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
  token = json.token
  $('signed-in-user').textContent = user
  $('session').hidden = false
  $('sign-in').hidden = true
  $('app').hidden = false
  notice('')
  await refresh()
  // Webhooks change Items and bring transactions while the page is open: re-read them now and then.
  poller = setInterval(() => token && refresh().catch(showError), config.pollMs)
}

$('sign-in').addEventListener('submit', (event) => action(() => signIn(event))())
$('sign-out').onclick = signOut
$('connect').onclick = action(connect)
$('refresh-balances').onclick = action(refreshBalances)
$('more').onclick = action(loadMore)
document.body.dataset.ready = 'true'
