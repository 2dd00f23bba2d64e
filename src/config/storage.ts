import { DEV_CLIENT_USER_ID_KEY, DEV_TOKEN_ENCRYPTION_KEY } from '../dev-defaults'
import type { QueueJob } from '../webhooks/job'
import { secretHow } from './auth'
import type { Reader } from './reader'
import type { Bindings } from './settings'

export type TokenKeys = { current: Uint8Array; old: Uint8Array[] }

export type StorageConfig = {
  db: D1Database
  users: Env['USER_STORE']
  webhookQueue: Queue<QueueJob>
  tokenKeys: TokenKeys
  /** Keys the hash of the user id that Plaid gets as `client_user_id` (src/plaid/client-user-id.ts). */
  clientUserIdKey: Uint8Array
}

/** The storage bindings and the keys that seal what is stored; undefined when any is missing or bad. */
export function readStorage(r: Reader, env: Bindings, localDev: boolean): StorageConfig | undefined {
  if (!env.DB) r.problem('DB', 'DB (the D1 binding) is missing; add [[d1_databases]] to wrangler.toml')
  if (!env.USER_STORE) {
    r.problem(
      'USER_STORE',
      'USER_STORE (the Durable Object binding) is missing; add [[durable_objects.bindings]] to wrangler.toml',
    )
  }
  if (!env.WEBHOOK_QUEUE) {
    r.problem(
      'WEBHOOK_QUEUE',
      'WEBHOOK_QUEUE (the Queue binding) is missing; add [[queues.producers]] to wrangler.toml',
    )
  }
  const current = r.key(
    'TOKEN_ENCRYPTION_KEY',
    r.required(
      'TOKEN_ENCRYPTION_KEY',
      secretHow('TOKEN_ENCRYPTION_KEY'),
      localDev ? DEV_TOKEN_ENCRYPTION_KEY : undefined,
    ) || undefined,
  )
  const clientUserIdKey = r.key(
    'PLAID_CLIENT_USER_ID_KEY',
    r.required(
      'PLAID_CLIENT_USER_ID_KEY',
      secretHow('PLAID_CLIENT_USER_ID_KEY'),
      localDev ? DEV_CLIENT_USER_ID_KEY : undefined,
    ) || undefined,
  )
  const old = (
    r.optional(
      'TOKEN_ENCRYPTION_KEYS_OLD',
      'set it to a comma list of previous TOKEN_ENCRYPTION_KEY values',
      'if no stored access token was sealed with a previous key',
    ) ?? ''
  )
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((k) => r.key('TOKEN_ENCRYPTION_KEYS_OLD', k))
  if (!env.DB || !env.USER_STORE || !env.WEBHOOK_QUEUE || !current || !clientUserIdKey) return undefined
  return {
    db: env.DB,
    users: env.USER_STORE,
    // wrangler types cannot know what the queue carries; this Worker is its only producer.
    webhookQueue: env.WEBHOOK_QUEUE as Queue<QueueJob>,
    tokenKeys: { current, old: old.filter((k) => k !== undefined) },
    clientUserIdKey,
  }
}
