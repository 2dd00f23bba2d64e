/**
 * The comparison point of `npm run bench`: the link-token endpoint written the way Plaid's
 * quickstart writes it, with the official `plaid` SDK (axios, on its fetch adapter) behind a
 * bearer check. It is never deployed; the bench runs it beside the API against the same emulator
 * and compares the CPU each spends per link token. `/floor` is the least any Worker does for one:
 * the same call to Plaid with `fetch` and its answer passed on, no check of anything; what the
 * runtime spends on that is not the work of either Worker, so the bench subtracts it from both.
 */
import { verify } from 'hono/jwt'
import { Configuration, CountryCode, PlaidApi, Products } from 'plaid'
import { PLAID_VERSION } from '../../src/plaid/version'

const LINK_TOKEN_BODY = (userId: string) => ({
  client_name: 'Linked Accounts',
  language: 'en',
  country_codes: [CountryCode.Us],
  user: { client_user_id: userId },
  products: [Products.Transactions, Products.Auth],
})

type Env = { PLAID_BASE_URL: string; PLAID_CLIENT_ID: string; PLAID_SECRET: string; JWT_SECRET: string }

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname === '/floor') return floor(env)
    const token = request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? ''
    let userId: string
    try {
      userId = String((await verify(token, env.JWT_SECRET, 'HS256')).sub)
    } catch {
      return Response.json({ detail: 'invalid token' }, { status: 401 })
    }
    const plaid = new PlaidApi(
      new Configuration({
        basePath: env.PLAID_BASE_URL,
        baseOptions: {
          adapter: 'fetch',
          headers: {
            'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID,
            'PLAID-SECRET': env.PLAID_SECRET,
            'Plaid-Version': PLAID_VERSION,
          },
        },
      }),
    )
    try {
      const { data } = await plaid.linkTokenCreate(LINK_TOKEN_BODY(userId))
      return Response.json({ link_token: data.link_token, expiration: data.expiration })
    } catch {
      return Response.json({ detail: 'Failed to create link token' }, { status: 400 })
    }
  },
}

async function floor(env: Env): Promise<Response> {
  const response = await fetch(`${env.PLAID_BASE_URL}/link/token/create`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'PLAID-CLIENT-ID': env.PLAID_CLIENT_ID,
      'PLAID-SECRET': env.PLAID_SECRET,
      'Plaid-Version': PLAID_VERSION,
    },
    body: JSON.stringify(LINK_TOKEN_BODY('floor-user')),
  })
  const { link_token, expiration } = (await response.json()) as { link_token: string; expiration: string }
  return Response.json({ link_token, expiration })
}
