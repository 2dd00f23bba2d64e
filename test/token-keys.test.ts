import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect } from 'vitest'
import worker from '../src/index'
import { api } from './helpers/api'
import { runCron } from './helpers/cron'
import { testEnv } from './helpers/env'
import { it } from './helpers/fixtures'
import { itemIdOf, linkItem, newUser } from './helpers/linking'
import { captureLogs, logRecords } from './helpers/logs'
import { poisonedUserStore, rowIn } from './helpers/user-store'

const OLD_KEY = baseEnv.TOKEN_ENCRYPTION_KEY as string
const NEW_KEY = btoa('another-32-byte-key-for-rotation')

/** The key id the user's object holds for the Item; the D1 index (what the cron reads) must agree. */
async function keyIdOf(userId: string, itemId: string) {
  const stored = await rowIn<{ access_token_key_id: string }>(
    userId,
    'SELECT access_token_key_id FROM items WHERE item_id = ?',
    itemId,
  )
  const indexed = await (baseEnv.DB as D1Database)
    .prepare('SELECT access_token_key_id FROM item_index WHERE item_id = ?')
    .bind(itemId)
    .first<{ access_token_key_id: string }>()
  expect(indexed?.access_token_key_id).toBe(stored?.access_token_key_id)
  return stored?.access_token_key_id
}

/** A key id as the rows record it: the first 12 hex digits of the key's SHA-256, never the key. */
const KEY_ID = /^[0-9a-f]{12}$/

/** The Item's key id, which must be there and well-formed. */
async function sealedKeyId(userId: string, itemId: string): Promise<string> {
  const keyId = await keyIdOf(userId, itemId)
  expect(keyId).toMatch(KEY_ID)
  return keyId as string
}

describe('rotating TOKEN_ENCRYPTION_KEY', () => {
  it('keeps tokens sealed with the old key readable through TOKEN_ENCRYPTION_KEYS_OLD, and seals new ones with the new key', async () => {
    const env = testEnv()
    const user = await newUser()
    const oldItem = itemIdOf(await linkItem(env, user, 'ins_109508'))
    const oldKeyId = await sealedKeyId(user.id, oldItem)

    const rotated = { ...env, TOKEN_ENCRYPTION_KEY: NEW_KEY, TOKEN_ENCRYPTION_KEYS_OLD: OLD_KEY }
    const refreshed = await api.refresh(rotated, user.token, oldItem)
    expect(refreshed.status).toBe(200)

    const newItem = itemIdOf(await linkItem(rotated, user, 'ins_109509'))
    const newKeyId = await sealedKeyId(user.id, newItem)
    expect(newKeyId).not.toBe(oldKeyId)
    // The refresh above re-sealed the old Item under the same new key.
    expect(await sealedKeyId(user.id, oldItem)).toBe(newKeyId)
  })

  it('re-seals a token under the current key when it is used, so the old key can then be dropped', async ({
    linked: { env, user, itemId },
  }) => {
    const oldKeyId = await sealedKeyId(user.id, itemId)

    const rotated = { ...env, TOKEN_ENCRYPTION_KEY: NEW_KEY, TOKEN_ENCRYPTION_KEYS_OLD: OLD_KEY }
    const refresh = () => api.refresh(rotated, user.token, itemId)
    expect((await refresh()).status).toBe(200)
    expect(await sealedKeyId(user.id, itemId)).not.toBe(oldKeyId)

    // The old key is no longer needed for this Item.
    const withoutOld = { ...env, TOKEN_ENCRYPTION_KEY: NEW_KEY }
    const res = await api.refresh(withoutOld, user.token, itemId)
    expect(res.status).toBe(200)
  })

  it('re-seals idle Items on the hourly cron, so the old key can then be dropped', async () => {
    // Keys of this test only: rows of other tests, sealed under the default key, stay untouched.
    const retiring = btoa('a-key-this-test-retires-32-bytes')
    const current = btoa('the-key-this-test-rotates-to-32b')
    const env = testEnv({ TOKEN_ENCRYPTION_KEY: retiring })
    const user = await newUser()
    const idle = itemIdOf(await linkItem(env, user))
    const retiringKeyId = await sealedKeyId(user.id, idle)

    const rotated = { ...env, TOKEN_ENCRYPTION_KEY: current, TOKEN_ENCRYPTION_KEYS_OLD: retiring }
    const { logs } = await captureLogs(async () => {
      const ctx = createExecutionContext()
      await worker.scheduled(createScheduledController({ cron: '17 * * * *' }), rotated, ctx)
      await waitOnExecutionContext(ctx)
    })
    expect(await sealedKeyId(user.id, idle)).not.toBe(retiringKeyId)
    expect(logs).toContain('access tokens re-sealed under the current key')
    expect(logs).toMatch(/"resealed":[1-9]/)

    const withoutOld = { ...env, TOKEN_ENCRYPTION_KEY: current }
    const res = await api.refresh(withoutOld, user.token, idle)
    expect(res.status).toBe(200)
  })

  it('re-seals the other idle Items on the hourly cron when one user’s object fails', async () => {
    const retiring = btoa('one-more-key-this-test-retires!!')
    const env = testEnv({ TOKEN_ENCRYPTION_KEY: retiring })
    const linked = []
    for (const institution of ['ins_109508', 'ins_109509']) {
      const user = await newUser()
      linked.push({ user, itemId: itemIdOf(await linkItem(env, user, institution)) })
    }
    // The sweep reads the index in item_id order: the first Item's object fails.
    const [poisoned, healthy] = linked.sort((a, b) => a.itemId.localeCompare(b.itemId)) as [
      (typeof linked)[0],
      (typeof linked)[0],
    ]
    const retiringKeyId = await sealedKeyId(healthy.user.id, healthy.itemId)

    const rotated = {
      ...env,
      TOKEN_ENCRYPTION_KEY: btoa('the-key-this-test-rotates-to-32b'),
      TOKEN_ENCRYPTION_KEYS_OLD: retiring,
      USER_STORE: poisonedUserStore(poisoned.user.id),
    }
    const { logs } = await captureLogs(() => runCron(rotated))
    expect(await sealedKeyId(healthy.user.id, healthy.itemId)).not.toBe(retiringKeyId)
    expect(await sealedKeyId(poisoned.user.id, poisoned.itemId)).toBe(retiringKeyId)
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({ message: 'access tokens re-sealed under the current key', resealed: 1, failed: 1 }),
    )
  })

  it('answers 500 saying which setting to fix when the old key is missing', async ({
    linked: { env, user, itemId },
  }) => {
    const res = await api.refresh({ ...env, TOKEN_ENCRYPTION_KEY: NEW_KEY }, user.token, itemId)
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(
      /^Failed to refresh item: no key with id [0-9a-f]{12}; add the old key to TOKEN_ENCRYPTION_KEYS_OLD$/,
    )
    expect(res.text).not.toContain(OLD_KEY)
  })

  it('answers 500 naming the setting when the key is not 32 bytes of base64', async () => {
    const res = await api.items(testEnv({ TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' }), (await newUser()).token)
    expect(res.status).toBe(500)
    expect(res.body.detail).toMatch(/TOKEN_ENCRYPTION_KEY must be base64 of exactly 32 random bytes/)
  })
})
