/**
 * The Worker's settings, read once per env and validated: src/config/settings.ts lists them, and
 * one reader per section checks them. Every problem is collected so one 500 (or the readiness
 * probe) names all the settings to fix, never their values.
 */
import { ConfigError } from '../errors'
import { PENDING_LINK_GRACE_MS } from '../store/pending-links'
import { type AuthConfig, readAuthClaims, readAuthVerification, readOperatorToken } from './auth'
import { type PlaidConfig, readLinkDisplay, readLinkSettings, readPlaidConnection } from './plaid'
import { Reader } from './reader'
import type { Bindings } from './settings'
import { readStorage, type StorageConfig } from './storage'

export type { AuthConfig, JwksAlg, JwtAlg } from './auth'
export { JWKS_ALGS } from './auth'
export type { PlaidConfig } from './plaid'
export { parseOrigins } from './reader'
export type { Bindings } from './settings'
export type { TokenKeys } from './storage'

export type Config = StorageConfig & {
  localDev: boolean
  auth: AuthConfig
  plaid: PlaidConfig
  /** ALLOWED_ORIGINS: the browser origins that get CORS headers, each exactly as sent in `Origin`. */
  allowedOrigins: string[]
  /** OPERATOR_TOKEN: the bearer the operator routes require; unset, they answer 404. */
  operatorToken?: string
  /** PENDING_LINK_GRACE_SECONDS, in ms: how old a pending link is before it is settled (store/pending-links.ts). */
  pendingLinkGraceMs: number
}

function parseConfig(env: Bindings): Config {
  const reader = new Reader(env)
  const localDev = env.LOCAL_DEV === 'true'
  const verification = readAuthVerification(reader, localDev)
  const connection = readPlaidConnection(reader, env, localDev)
  const storage = readStorage(reader, env, localDev)
  const display = readLinkDisplay(reader)
  const claims = readAuthClaims(reader)
  const link = readLinkSettings(reader, localDev)
  const operatorToken = readOperatorToken(reader)
  // Longer than any exchange request takes (Plaid's timeouts and retries included), or the
  // background job would settle a link its request is still storing.
  const graceSeconds = reader.whole('PENDING_LINK_GRACE_SECONDS', PENDING_LINK_GRACE_MS / 1000, 10, 3600, 'seconds')
  const allowedOrigins = reader.origins(
    'ALLOWED_ORIGINS',
    'set it to a comma list of origins exactly as browsers send them, such as https://app.example.com,http://localhost:5173 (scheme://host[:port] in lower case, no path, no trailing slash, no wildcard)',
  )
  if (reader.problems.length > 0 || !storage) throw new ConfigError(reader.problems, reader.settings)
  return {
    ...storage,
    localDev,
    auth: { ...verification, ...claims },
    plaid: { ...connection, ...display, ...link },
    operatorToken,
    pendingLinkGraceMs: graceSeconds * 1000,
    allowedOrigins,
  }
}

// Bindings are fixed for the life of an isolate, so each env object is parsed once.
const parsed = new WeakMap<Bindings, Config | ConfigError>()

/** The validated settings for this env; throws ConfigError naming every bad setting. */
export function getConfig(env: Bindings): Config {
  let result = parsed.get(env)
  if (result === undefined) {
    try {
      result = parseConfig(env)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      result = error
    }
    parsed.set(env, result)
  }
  if (result instanceof ConfigError) throw result
  return result
}
