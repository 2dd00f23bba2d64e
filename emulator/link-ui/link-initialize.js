// Plaid Link for the web, emulated: the emulator serves this at Plaid's path
// (/link/v2/stable/link-initialize.js) so a web app runs its real Link code against the local
// Plaid. `Plaid.create({ token, onSuccess, onExit, onEvent, receivedRedirectUri })` returns
// `{ open, exit, destroy }` as Plaid's Link web SDK does; `open()` shows an in-page dialog in place
// of Plaid's iframe. At an OAuth bank Link sends the user to the bank's page: the whole page when
// the link token has a redirect_uri (the app then re-creates Link with the same token and
// `receivedRedirectUri`), else a pop-up, and Link finishes in the original page.
;(() => {
  const base = new URL(document.currentScript.src).origin

  async function call(path, body) {
    const res = await fetch(`${base}/link/session/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    const json = await res.json()
    if (!res.ok) throw Object.assign(new Error(json.error_message), { plaid: json })
    return json
  }

  // The error as Link passes it to onExit (Plaid's error_message may be null).
  const linkError = (e) =>
    e.plaid
      ? {
          error_type: e.plaid.error_type,
          error_code: e.plaid.error_code,
          error_message: e.plaid.error_message,
          display_message: e.plaid.display_message,
        }
      : {
          error_type: 'API_ERROR',
          error_code: 'INTERNAL_SERVER_ERROR',
          error_message: String(e.message),
          display_message: null,
        }
  // The message Plaid's pop-up return page posts to the page that opened Link.
  const POPUP_MESSAGE_TYPE = 'plaid-link-oauth'

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag)
    for (const [key, value] of Object.entries(attrs)) {
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
      else node.setAttribute(key, value)
    }
    node.append(...children)
    return node
  }

  const STYLE =
    'position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:2147483647;font:15px system-ui,sans-serif'
  const PANE =
    'background:#fff;color:#111;border-radius:12px;padding:20px 24px;width:340px;box-shadow:0 8px 30px rgba(0,0,0,.3);display:flex;flex-direction:column;gap:10px'

  function create({ token, onSuccess, onExit, onEvent, receivedRedirectUri }) {
    let overlay = null
    let session = null // { link_session_id, institutions, update, resumed }
    let institution = null
    let status = null
    let requestId = null

    const event = (name, extra = {}) =>
      onEvent?.(name, {
        view_name: null,
        error_code: null,
        error_type: null,
        error_message: null,
        institution_id: institution?.institution_id ?? null,
        institution_name: institution?.name ?? null,
        link_session_id: session?.link_session_id ?? null,
        request_id: requestId,
        timestamp: new Date().toISOString(),
        ...extra,
      })

    let stopListening = null // the pop-up's message listener, while one is open

    function close() {
      overlay?.remove()
      overlay = null
      stopListening?.()
    }

    function exit(error = null) {
      if (!overlay && !error) return
      close()
      const metadata = {
        institution: institution && { name: institution.name, institution_id: institution.institution_id },
        status: error ? null : status,
        link_session_id: session?.link_session_id ?? null,
        request_id: requestId,
      }
      event('EXIT', { exit_status: metadata.status, ...(error && { error_code: error.error_code }) })
      onExit?.(error, metadata)
    }

    function show(title, ...content) {
      const closeButton = el('button', { type: 'button', 'aria-label': 'Close', onclick: () => exit() }, '×')
      closeButton.style.cssText = 'border:0;background:none;font-size:22px;cursor:pointer;line-height:1'
      const header = el('div', {}, el('strong', {}, title), closeButton)
      header.style.cssText = 'display:flex;justify-content:space-between;align-items:center'
      const pane = el('div', { role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Plaid Link' }, header, ...content)
      pane.style.cssText = PANE
      if (!overlay) {
        overlay = el('div', { 'data-plaid-link-emulator': '' })
        overlay.style.cssText = STYLE
        document.body.append(overlay)
      }
      overlay.replaceChildren(pane)
    }

    function chooseInstitution() {
      status = 'institution_not_found'
      event('TRANSITION_VIEW', { view_name: 'SELECT_INSTITUTION' })
      const buttons = session.institutions.map((ins) =>
        el(
          'button',
          {
            type: 'button',
            onclick: () => {
              institution = ins
              event('SELECT_INSTITUTION')
              if (ins.oauth) oauth()
              else credentials()
            },
          },
          ins.name,
        ),
      )
      show('Select your bank', el('p', {}, 'Plaid Sandbox (emulated)'), ...buttons)
    }

    function credentials() {
      status = 'requires_credentials'
      event('TRANSITION_VIEW', { view_name: 'CREDENTIAL' })
      const message = el('p', { role: 'alert' })
      message.style.cssText = 'color:#b00020;margin:0'
      const username = el('input', { name: 'username', autocomplete: 'off', 'aria-label': 'Username' })
      const password = el('input', { name: 'password', type: 'password', 'aria-label': 'Password' })
      const form = el(
        'form',
        {
          onsubmit: (e) => {
            e.preventDefault()
            complete({ username: username.value, password: password.value }, message)
          },
        },
        el('label', {}, 'Username ', username),
        el('label', {}, 'Password ', password),
        el('button', { type: 'submit' }, 'Submit'),
      )
      form.style.cssText = 'display:flex;flex-direction:column;gap:8px'
      show(`Log in to ${institution.name}`, el('p', {}, 'Sandbox: user_good / pass_good'), message, form)
      username.focus()
    }

    // An OAuth bank: the user logs in on the bank's own page. The trip is asked for first, so the
    // pop-up opens in the click itself (browsers block pop-ups opened later).
    function oauth() {
      status = 'requires_oauth'
      event('TRANSITION_VIEW', { view_name: 'OAUTH' })
      const message = el('p', { role: 'alert' })
      message.style.cssText = 'color:#b00020;margin:0'
      const proceed = el('button', { type: 'button', disabled: '' }, `Continue to ${institution.name}`)
      show(
        institution.name,
        el('p', {}, `You will log in on ${institution.name}'s own site, then come back here.`),
        message,
        proceed,
      )
      call('oauth', {
        link_token: token,
        link_session_id: session.link_session_id,
        institution_id: institution.institution_id,
      }).then(
        (trip) => {
          proceed.disabled = false
          proceed.addEventListener('click', () => handOff(trip, message))
        },
        (e) => fail(e, message),
      )
    }

    function handOff(trip, message) {
      event('OPEN_OAUTH')
      if (trip.redirect) {
        window.location.assign(trip.url)
        return
      }
      const popup = window.open(trip.url, 'plaid-link-oauth', 'popup,width=480,height=680')
      if (!popup) {
        message.textContent = `Allow pop-ups for this site to log in to ${institution.name}.`
        return
      }
      const onMessage = (e) => {
        if (e.origin !== base || e.data?.type !== POPUP_MESSAGE_TYPE || e.data.oauth_state_id !== trip.oauth_state_id)
          return
        stopListening()
        finish(trip.oauth_state_id)
      }
      window.addEventListener('message', onMessage)
      stopListening = () => {
        window.removeEventListener('message', onMessage)
        stopListening = null
      }
      show(
        institution.name,
        el('p', {}, `Finish logging in to ${institution.name} in the window that opened.`),
        message,
      )
    }

    // Back from the bank (a redirect or the pop-up): Link finishes with that trip.
    function finish(oauthStateId) {
      event('TRANSITION_VIEW', { view_name: 'CONNECTED' })
      const message = el('p', { role: 'alert' })
      show(institution.name, el('p', {}, `Connecting to ${institution.name}…`), message)
      complete({ oauth_state_id: oauthStateId }, message)
    }

    function chooseAccounts() {
      status = 'requires_account_selection'
      event('TRANSITION_VIEW', { view_name: 'SELECT_ACCOUNT' })
      const message = el('p', { role: 'alert' })
      const list = el('ul', {}, ...session.update.accounts.map((a) => el('li', {}, `${a.name} ••${a.mask}`)))
      const proceed = el('button', { type: 'button', onclick: () => complete({}, message) }, 'Continue')
      show(`Share accounts at ${institution.name}`, list, message, proceed)
    }

    async function complete(credentials, message) {
      if (credentials.username !== undefined) event('SUBMIT_CREDENTIALS')
      try {
        const answer = await call('complete', {
          link_token: token,
          link_session_id: session.link_session_id,
          institution_id: institution.institution_id,
          ...credentials,
        })
        requestId = answer.request_id
        close()
        event('HANDOFF')
        onSuccess?.(answer.public_token, answer.metadata)
      } catch (e) {
        fail(e, message)
      }
    }

    function fail(e, message) {
      requestId = e.plaid?.request_id ?? requestId
      const error = linkError(e)
      event('ERROR', {
        error_code: error.error_code,
        error_type: error.error_type,
        error_message: error.error_message,
      })
      // A dead link token or a failed OAuth trip ends the session; a wrong password lets the user try again.
      if (error.error_code === 'INVALID_LINK_TOKEN' || error.error_type === 'OAUTH_ERROR') exit(error)
      else message.textContent = error.display_message ?? error.error_message ?? error.error_code
    }

    async function open() {
      try {
        session = await call('open', {
          link_token: token,
          ...(receivedRedirectUri !== undefined && { received_redirect_uri: receivedRedirectUri }),
        })
        requestId = session.request_id
      } catch (e) {
        requestId = e.plaid?.request_id ?? null
        exit(linkError(e))
        return
      }
      event('OPEN')
      if (session.resumed) {
        institution = session.resumed.institution
        finish(session.resumed.oauth_state_id)
      } else if (session.update) {
        institution = session.update.institution
        if (institution.oauth) oauth()
        else if (session.update.credentials_required) credentials()
        else chooseAccounts()
      } else chooseInstitution()
    }

    return {
      open: () => void open(),
      exit: () => exit(),
      destroy: () => close(),
    }
  }

  window.Plaid = { create }
})()
