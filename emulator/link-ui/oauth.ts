/**
 * OAuth institutions, emulated: the user leaves Link for the bank's own site, logs in and consents
 * there, and the bank sends the browser back. With a `redirect_uri` on the link token the whole
 * page goes to the bank and comes back to `redirect_uri?oauth_state_id=...`, where the app must
 * re-create Link with the same link token and `receivedRedirectUri` (Plaid's OAuth guide). Without
 * one, the bank opens in a pop-up, which hands the state back to Link in the original page, as
 * Plaid's web Link does.
 *
 * An OAuth state is one trip to the bank: started by Link, authorized at the bank, processed when
 * Link finishes with it. Resuming with another link token, a state already processed or one the
 * bank never authorized gives Plaid's OAUTH_ERROR codes (plaid.com/docs/errors/oauth).
 */
import type { Context, Hono } from 'hono'
import type { Institution } from '../model'
import { EmulatedPlaidError } from '../plaid-error'

export type OAuthState = {
  id: string
  /** The link token Link was opened with; only it may finish the trip. */
  linkToken: string
  linkSessionId: string
  institution: Institution
  /** The link token's redirect_uri; null when the bank runs in a pop-up. */
  redirectUri: string | null
  /** The origin of the page that opened Link: the pop-up posts the state back to it alone. */
  openerOrigin: string | null
  /** The user logged in and consented at the bank. */
  authorized: boolean
  /** Link finished with it (an Item was created or repaired). */
  processed: boolean
}

/** Where the emulated banks' pages live, on the emulator's origin. */
export const BANK_PATH = '/bank/:institution_id/authorize'
/** Plaid's page the bank returns a pop-up to; it hands the state to Link and closes. */
export const POPUP_RETURN_PATH = '/link/oauth/return'
/** The message the pop-up posts to the page that opened Link. */
export const POPUP_MESSAGE_TYPE = 'plaid-link-oauth'

const oauthError = (code: string, message: string | null) => new EmulatedPlaidError(400, 'OAUTH_ERROR', code, message)

export const oauthStateNotFound = () =>
  oauthError('OAUTH_STATE_ID_NOT_FOUND', "the provided oauth_state_id wasn't found")
export const incorrectLinkToken = () =>
  oauthError('INCORRECT_LINK_TOKEN', 'link token does not match original link token')
export const oauthStateAlreadyProcessed = () => oauthError('OAUTH_STATE_ID_ALREADY_PROCESSED', null)

/** The OAuth states of one emulator, by oauth_state_id. */
export class OAuthStates {
  private readonly states = new Map<string, OAuthState>()

  start(fields: Omit<OAuthState, 'id' | 'authorized' | 'processed'>): OAuthState {
    const state = { ...fields, id: crypto.randomUUID(), authorized: false, processed: false }
    this.states.set(state.id, state)
    return state
  }

  /**
   * The state Link may finish with `linkToken`, checked in Plaid's order: unknown (or never
   * authorized at the bank), then another link token's, then already used.
   */
  resumable(id: unknown, linkToken: string): OAuthState {
    const state = typeof id === 'string' ? this.states.get(id) : undefined
    if (!state?.authorized) throw oauthStateNotFound()
    if (state.linkToken !== linkToken) throw incorrectLinkToken()
    if (state.processed) throw oauthStateAlreadyProcessed()
    return state
  }

  /** A state the bank's page may still authorize. */
  pending(id: string | undefined, institutionId: string): OAuthState | undefined {
    const state = id === undefined ? undefined : this.states.get(id)
    return state && !state.authorized && state.institution.id === institutionId ? state : undefined
  }

  /** The page a pop-up trip hands its state back to, once the bank authorized it. */
  popupOpener(id: string | undefined): string | undefined {
    const state = id === undefined ? undefined : this.states.get(id)
    const open = state?.authorized && !state.processed && state.redirectUri === null
    return (open && state.openerOrigin) || undefined
  }
}

/** The oauth_state_id in the URL the bank sent the browser back to (Link's `receivedRedirectUri`). */
export function stateIdFromRedirect(receivedRedirectUri: unknown): string | undefined {
  if (typeof receivedRedirectUri !== 'string') return undefined
  try {
    return new URL(receivedRedirectUri).searchParams.get('oauth_state_id') ?? undefined
  } catch {
    return undefined
  }
}

/**
 * Registers the emulated banks' login-and-consent pages and Plaid's pop-up return page.
 * `checkLogin` is the Sandbox's rule for a username and password.
 */
export function oauthBankRoutes(
  app: Hono,
  states: OAuthStates,
  checkLogin: (username: string, password: string) => boolean,
): void {
  app.get(BANK_PATH, (c) => {
    const state = states.pending(c.req.query('oauth_state_id'), c.req.param('institution_id'))
    return state ? c.html(bankPage(state, null)) : unknownTrip(c)
  })

  app.post(BANK_PATH, async (c) => {
    const form = await c.req.parseBody()
    const state = states.pending(String(form.oauth_state_id ?? ''), c.req.param('institution_id'))
    if (!state) return unknownTrip(c)
    if (!checkLogin(String(form.username ?? ''), String(form.password ?? ''))) {
      return c.html(bankPage(state, 'The username or password is not correct.'), 401)
    }
    state.authorized = true
    const back = new URL(state.redirectUri ?? new URL(POPUP_RETURN_PATH, c.req.url).href)
    back.searchParams.set('oauth_state_id', state.id)
    return c.redirect(back.href, 303)
  })

  app.get(POPUP_RETURN_PATH, (c) => {
    const id = c.req.query('oauth_state_id')
    const opener = states.popupOpener(id)
    if (id === undefined || opener === undefined) return unknownTrip(c)
    const message = JSON.stringify({ type: POPUP_MESSAGE_TYPE, oauth_state_id: id })
    // JSON in a script: `<` escaped so no value can close the element.
    const script = `window.opener?.postMessage(${message}, ${JSON.stringify(opener)}); window.close()`.replaceAll(
      '<',
      '\\u003c',
    )
    return c.html(page('Returning to the app', '<p>You can close this window.</p>', script))
  })
}

function unknownTrip(c: Context) {
  const body = '<p>This login session is unknown or already finished. Close this page and start again in the app.</p>'
  return c.html(page('Session not found', body), 404)
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

function page(title: string, body: string, script?: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:15px system-ui,sans-serif;max-width:360px;margin:40px auto;padding:0 16px}
form{display:flex;flex-direction:column;gap:8px}[role=alert]{color:#b00020}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}${script === undefined ? '' : `<script>${script}</script>`}</body>
</html>`
}

/** The bank's own login and consent page (Plaid Sandbox accepts user_good / pass_good there too). */
function bankPage(state: OAuthState, error: string | null): string {
  const name = escapeHtml(state.institution.name)
  return page(
    state.institution.name,
    `<p>Log in to share your ${name} accounts with the app through Plaid (Sandbox: user_good / pass_good).</p>
<p role="alert">${error === null ? '' : escapeHtml(error)}</p>
<form method="post">
<input type="hidden" name="oauth_state_id" value="${escapeHtml(state.id)}">
<label>Username <input name="username" autocomplete="off"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Allow access</button>
</form>`,
  )
}
