/**
 * The browser side of Plaid Link, emulated: the script a web app loads
 * (`/link/v2/stable/link-initialize.js`, ./link-initialize.js) and the two calls it makes. A
 * session opens for a link token, and logging in at an institution creates the Item from the
 * link token (its products, webhook and client_user_id), as Link does, or repairs the Item an
 * update-mode token names. These are Link's own calls, not Plaid's API: no client credentials
 * (the link token names the client), answered to any origin, and left out of the contract check.
 */
import type { Context, Hono } from 'hono'
import { cors } from 'hono/cors'
import { CUSTOM_USERNAME, customAccounts } from '../custom-user'
import { INSTITUTIONS } from '../data/institutions'
import { linkedItem } from '../endpoints/link'
import type { Account, Institution, Item, LinkToken } from '../model'
import { EmulatedPlaidError, invalidField, invalidInput } from '../plaid-error'
import { isLoginRequired, type Tenant } from '../state'
import {
  BANK_PATH,
  type OAuthState,
  OAuthStates,
  oauthBankRoutes,
  oauthStateNotFound,
  stateIdFromRedirect,
} from './oauth'

/** Where the web app loads Link from: Plaid's path, on the emulator's host. */
export const LINK_SCRIPT_PATH = '/link/v2/stable/link-initialize.js'

export type LinkTokenOwner = { tenant: Tenant; linkToken: LinkToken }

// Plaid Sandbox's default login; any other username or password is refused as at a bank.
const SANDBOX_USERNAME = 'user_good'
const SANDBOX_PASSWORD = 'pass_good'

const invalidLinkToken = (message: string) => invalidInput('INVALID_LINK_TOKEN', message)
const invalidCredentials = () =>
  new EmulatedPlaidError(
    400,
    'ITEM_ERROR',
    'INVALID_CREDENTIALS',
    'the provided credentials were not correct',
    'The provided credentials were not correct. Please try again.',
  )

/**
 * Registers the script (when `script` is given: the Node server reads it from disk) and the
 * session calls on the emulator's app, with the OAuth banks' pages. `findLinkToken` looks a link
 * token up in every tenant.
 */
export function linkSessionRoutes(
  app: Hono,
  findLinkToken: (token: string) => LinkTokenOwner | undefined,
  newRequestId: () => string,
  script?: string,
): void {
  if (script !== undefined) {
    app.get(LINK_SCRIPT_PATH, (c) =>
      c.body(script, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' }),
    )
  }
  const oauth = new OAuthStates()
  oauthBankRoutes(app, oauth, isSandboxLogin)
  // The app that opens Link runs on its own origin and posts JSON, so every call is preflighted.
  app.use('/link/session/*', cors({ origin: '*', allowMethods: ['POST'], allowHeaders: ['Content-Type'] }))

  /** The link token named in the body, alive; else Link's INVALID_LINK_TOKEN. */
  const liveToken = (body: Record<string, unknown>): LinkTokenOwner & { token: string } => {
    const token = body.link_token
    const owner = typeof token === 'string' ? findLinkToken(token) : undefined
    if (!owner) throw invalidLinkToken('invalid link_token provided')
    if (owner.tenant.now() >= owner.linkToken.expiresAt) throw invalidLinkToken('link token has expired')
    return { ...owner, token: token as string }
  }

  const answer =
    (handler: (body: Record<string, unknown>, c: Context) => Record<string, unknown>) => async (c: Context) => {
      const requestId = newRequestId()
      try {
        const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>
        return c.json({
          ...handler(typeof body === 'object' && body !== null ? body : {}, c),
          request_id: requestId,
        })
      } catch (error) {
        if (error instanceof EmulatedPlaidError) return c.json(error.body(requestId), error.status as 400)
        throw error
      }
    }

  // What Link shows first: the institutions to pick from, or, in update mode, the Item's bank
  // and whether its login is needed (an Item in ITEM_LOGIN_REQUIRED) or only account selection.
  // Re-created after an OAuth bank's redirect (`received_redirect_uri`), Link resumes that trip.
  app.post(
    '/link/session/open',
    answer((body) => {
      const { tenant, linkToken, token } = liveToken(body)
      const item = updateModeItem(tenant, linkToken)
      const resumed =
        body.received_redirect_uri === undefined
          ? null
          : oauth.resumable(stateIdFromRedirect(body.received_redirect_uri), token)
      return {
        link_session_id: resumed?.linkSessionId ?? crypto.randomUUID(),
        institutions: [...INSTITUTIONS.values()].map((i) => ({ ...institutionJson(i), oauth: i.oauth })),
        update: item && {
          institution: { ...institutionJson(item.institution), oauth: item.institution.oauth },
          credentials_required: isLoginRequired(item),
          accounts: item.accounts.map(accountMetadata),
        },
        resumed: resumed && {
          institution: { ...institutionJson(resumed.institution), oauth: true },
          oauth_state_id: resumed.id,
        },
      }
    }),
  )

  // The user picked an OAuth bank (or update mode repairs an Item at one): a trip to the bank's
  // page, in this page when the link token has a redirect_uri, else in a pop-up.
  app.post(
    '/link/session/oauth',
    answer((body, c) => {
      const { tenant, linkToken, token } = liveToken(body)
      const { institution, sessionId } = sessionTarget(tenant, linkToken, body)
      if (!institution.oauth) throw invalidField(`${institution.id} does not log in through OAuth`)
      const state = oauth.start({
        linkToken: token,
        linkSessionId: sessionId,
        institution,
        redirectUri: linkToken.redirectUri,
        openerOrigin: c.req.header('Origin') ?? null,
      })
      const url = new URL(BANK_PATH.replace(':institution_id', institution.id), c.req.url)
      url.searchParams.set('oauth_state_id', state.id)
      return { oauth_state_id: state.id, url: url.href, redirect: state.redirectUri !== null }
    }),
  )

  // The user logs in (or, in update mode for account selection, confirms; at an OAuth bank, comes
  // back from it): the public token and the metadata Link hands to onSuccess.
  app.post(
    '/link/session/complete',
    answer((body) => {
      const { tenant, linkToken, token } = liveToken(body)
      const { username, password } = body
      const { item, institution, sessionId } = sessionTarget(tenant, linkToken, body)
      // At an OAuth bank the login happened on the bank's page: Link finishes with that trip.
      const trip = institution.oauth ? oauthTrip(oauth, body.oauth_state_id, token, institution) : null
      let linked: Item
      if (item) {
        if (isLoginRequired(item)) {
          if (!trip && !isSandboxLogin(username, password)) throw invalidCredentials()
          // Update mode repairs the Item; Plaid sends no LOGIN_REPAIRED webhook for it.
          tenant.repair(item)
        }
        linked = item
      } else {
        const created = linkedItem(tenant, linkToken, institution, trip ? undefined : sandboxLogin(username, password))
        if ('missing' in created) {
          throw invalidInput('INVALID_INSTITUTION', `this institution does not support ${created.missing.join(', ')}`)
        }
        linked = created.item
      }
      if (trip) trip.processed = true
      return {
        public_token: tenant.issuePublicToken(linked),
        metadata: {
          institution: institutionJson(linked.institution),
          accounts: linked.accounts.map(accountMetadata),
          link_session_id: sessionId,
          transfer_status: null,
        },
      }
    }),
  )
}

/**
 * What a step of an open Link session acts on: the Item update mode repairs (at its bank), or the
 * institution the user picked. The session must be one /link/session/open answered.
 */
function sessionTarget(
  tenant: Tenant,
  linkToken: LinkToken,
  body: Record<string, unknown>,
): { item: Item | null; institution: Institution; sessionId: string } {
  const sessionId = body.link_session_id
  if (typeof sessionId !== 'string' || sessionId === '')
    throw invalidField('link_session_id must be the one /link/session/open answered')
  const item = updateModeItem(tenant, linkToken)
  const institution = item ? item.institution : INSTITUTIONS.get(String(body.institution_id))
  if (!institution) throw invalidInput('INVALID_INSTITUTION', 'invalid institution_id provided')
  return { item, institution, sessionId }
}

/** The authorized trip to `institution` that Link finishes with `token`. */
function oauthTrip(oauth: OAuthStates, stateId: unknown, token: string, institution: Institution): OAuthState {
  if (stateId === undefined) throw invalidField(`oauth_state_id is required: ${institution.id} logs in through OAuth`)
  const state = oauth.resumable(stateId, token)
  if (state.institution.id !== institution.id) throw oauthStateNotFound()
  return state
}

/** The live Item an update-mode link token repairs; null for a token that creates an Item. */
function updateModeItem(tenant: Tenant, linkToken: LinkToken): Item | null {
  if (linkToken.itemId === null) return null
  const item = tenant.items.get(linkToken.itemId)
  if (!item || item.removed) throw invalidLinkToken('the Item of this update-mode link token was removed')
  return item
}

/**
 * The accounts a Sandbox login gets: user_good / pass_good the default ones (undefined), the
 * custom user those its JSON password describes; anything else is refused as at a bank.
 */
function sandboxLogin(username: unknown, password: unknown): Omit<Account, 'id'>[] | undefined {
  if (username === CUSTOM_USERNAME && typeof password === 'string') {
    try {
      return customAccounts(password)
    } catch {
      throw invalidCredentials()
    }
  }
  if (!isSandboxLogin(username, password)) throw invalidCredentials()
  return undefined
}

/** Plaid Sandbox's default login. */
const isSandboxLogin = (username: unknown, password: unknown) =>
  username === SANDBOX_USERNAME && password === SANDBOX_PASSWORD

const institutionJson = (institution: Institution) => ({ name: institution.name, institution_id: institution.id })

/** An account as Link's onSuccess metadata lists it. */
const accountMetadata = (account: Account) => ({
  id: account.id,
  name: account.name,
  mask: account.mask,
  type: account.type,
  subtype: account.subtype,
  verification_status: null,
})
