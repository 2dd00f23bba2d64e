/** The workerd side of the stand-in identity provider (test/support/idp.ts): tenants, tokens, faults. */

import { testEnv } from '../helpers/env'
import { newUserId, now } from '../helpers/tokens'

export const IDP = 'https://idp.test'

/** An env whose bearer tokens come from its own identity provider (a tenant of the stand-in IdP). */
export function idpEnv(overrides: Record<string, string> = {}) {
  const tenant = crypto.randomUUID()
  const env = testEnv({
    JWT_SECRET: undefined,
    JWT_JWKS_URL: `${IDP}/${tenant}/.well-known/jwks.json`,
    JWT_ALG: 'RS256,ES256',
    JWT_ISSUER: `${IDP}/${tenant}/`,
    JWT_AUDIENCE: 'banking-api',
    ...overrides,
  })
  return { env, tenant }
}

export async function idpToken(
  tenant: string,
  alg: 'RS256' | 'ES256',
  claims: Record<string, unknown> = {},
  extra: { kid?: string; unlisted?: boolean } = {},
): Promise<string> {
  const response = await fetch(`${IDP}/${tenant}/sign`, {
    method: 'POST',
    body: JSON.stringify({
      alg,
      claims: {
        sub: newUserId(),
        iss: `${IDP}/${tenant}/`,
        aud: 'banking-api',
        iat: now(),
        exp: now() + 300,
        ...claims,
      },
      ...extra,
    }),
  })
  return ((await response.json()) as { token: string }).token
}

/** How many times the tenant's JWKS was asked for, failed answers included. */
export const jwksFetches = async (tenant: string) =>
  ((await (await fetch(`${IDP}/${tenant}/fetches`)).json()) as { fetches: number }).fetches

/** A new signing key for `alg`, which the tenant's tokens use from now on (a key rotation). */
export async function rotateKey(tenant: string, alg: 'RS256' | 'ES256'): Promise<void> {
  await fetch(`${IDP}/${tenant}/rotate`, { method: 'POST', body: JSON.stringify({ alg }) })
}

/** Makes the tenant's JWKS answer late and/or with an error status; `{}` restores it. */
export async function jwksFault(tenant: string, fault: { delay_ms?: number; status?: number }): Promise<void> {
  const response = await fetch(`${IDP}/${tenant}/jwks-fault`, { method: 'POST', body: JSON.stringify(fault) })
  if (!response.ok) throw new Error(`identity provider refused the fault: ${response.status}`)
}
