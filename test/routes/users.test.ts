import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { api } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { LEGACY_TABLES, userOnlyInD1 } from '../helpers/legacy-user'
import { exchange, itemIdOf, linkItem, newUser, type User } from '../helpers/linking'
import { rowsIn, stoppingAfterUserStore } from '../helpers/user-store'

const OPERATOR_TOKEN = 'operator-token-of-at-least-32-characters'
const db = () => baseEnv.DB as D1Database

/** What D1 keeps about the user outside their object. */
async function d1Rows(userId: string) {
  const count = async (table: string) =>
    (await db().prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`).bind(userId).first<{ n: number }>())?.n
  return { item_index: await count('item_index'), public_token_owners: await count('public_token_owners') }
}

/**
 * The rows left in the user's object, per table, and its meta keys (read before any later request
 * uses the object again).
 */
async function objectRows(userId: string) {
  const rows: Record<string, unknown> = {}
  for (const table of ['items', 'accounts', 'transactions', 'public_token_exchanges']) {
    rows[table] = (await rowsIn(userId, `SELECT * FROM ${table}`)).length
  }
  rows.meta = (await rowsIn<{ key: string }>(userId, 'SELECT key FROM meta ORDER BY key')).map((r) => r.key)
  return rows
}

/** A user with two Items (two banks), each with its first sync done. */
async function userWithTwoItems(env: TestEnv): Promise<{ user: User; itemIds: string[] }> {
  const user = await newUser()
  const itemIds = [itemIdOf(await linkItem(env, user, 'ins_109508')), itemIdOf(await linkItem(env, user, 'ins_109509'))]
  return { user, itemIds }
}

async function listed(env: TestEnv, user: User) {
  return {
    items: ((await api.items(env, user.token)).body.items as unknown[]).length,
    accounts: ((await api.accounts(env, user.token)).body.accounts as unknown[]).length,
    transactions: ((await api.transactions(env, user.token)).body.transactions as unknown[]).length,
  }
}

const removedAtPlaid = async (env: TestEnv, itemIds: string[]) =>
  (await emulator.items(env)).filter((i) => itemIds.includes(i.item_id)).map((i) => i.removed)

describe('DELETE /api/v1/banking/users/me', () => {
  it("removes each Item at Plaid, wipes the user's object and their D1 rows, and answers 204", async () => {
    const env = testEnv()
    const { user, itemIds } = await userWithTwoItems(env)
    const other = await newUser()
    const othersItem = itemIdOf(await linkItem(env, other, 'ins_109508'))
    expect(await d1Rows(user.id)).toEqual({ item_index: 2, public_token_owners: 2 })
    expect((await objectRows(user.id)).transactions).toBeGreaterThan(0)

    const res = await api.deleteMe(env, user.token)
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expect(await removedAtPlaid(env, itemIds)).toEqual([true, true])
    expect(await objectRows(user.id)).toEqual({
      items: 0,
      accounts: 0,
      transactions: 0,
      public_token_exchanges: 0,
      // Only the schema, laid down again: no owner, and no mark that D1's rows were copied in.
      meta: ['schema_version'],
    })
    expect(await d1Rows(user.id)).toEqual({ item_index: 0, public_token_owners: 0 })
    expect(await listed(env, user)).toEqual({ items: 0, accounts: 0, transactions: 0 })
    // Another user's bank is left as it was.
    expect(await removedAtPlaid(env, [othersItem])).toEqual([false])
    expect((await listed(env, other)).items).toBe(1)
  })

  it('counts an Item Plaid no longer knows as removed', async () => {
    const env = testEnv()
    const { user, itemIds } = await userWithTwoItems(env)
    await emulator.removeAtPlaid(env, itemIds[0] as string)
    expect((await api.deleteMe(env, user.token)).status).toBe(204)
    expect(await removedAtPlaid(env, itemIds)).toEqual([true, true])
    expect(await listed(env, user)).toEqual({ items: 0, accounts: 0, transactions: 0 })
  })

  it('removes at Plaid a link whose exchange request stopped before storing it (a pending link)', async () => {
    const env = testEnv()
    const user = await newUser()
    const stopped = stoppingAfterUserStore('recordPendingLink')
    void exchange({ ...env, USER_STORE: stopped.namespace } as TestEnv, user, await emulator.publicToken(env))
    await stopped.reached
    const res = await api.deleteMe(env, user.token)
    expect(res.status).toBe(204)
    expect((await emulator.items(env)).map((i) => i.removed)).toEqual([true])
  })

  it('is idempotent: called again, or for a user with nothing, it answers 204', async () => {
    const env = testEnv()
    const { user } = await userWithTwoItems(env)
    expect((await api.deleteMe(env, user.token)).status).toBe(204)
    expect((await api.deleteMe(env, user.token)).status).toBe(204)
    expect((await api.deleteMe(env, (await newUser()).token)).status).toBe(204)
    expect(await listed(env, user)).toEqual({ items: 0, accounts: 0, transactions: 0 })
  })

  it('reports a failure half-way, keeps what is left listed, and finishes when called again', async () => {
    const env = testEnv()
    const { user, itemIds } = await userWithTwoItems(env)
    // Plaid refuses the second removal once.
    await emulator.fault(env, {
      endpoint: '/item/remove',
      kind: 'plaid_error',
      after: 1,
      status: 400,
      error_type: 'ITEM_ERROR',
      error_code: 'ITEM_LOCKED',
      error_message: 'the account is locked',
    })
    const failed = await api.deleteMe(env, user.token)
    expect(failed.status).toBe(400)
    expect(failed.body).toMatchObject({
      detail: 'Failed to delete user data: the account is locked',
      error_code: 'ITEM_LOCKED',
    })
    expect(await removedAtPlaid(env, itemIds)).toEqual([true, false])
    expect((await listed(env, user)).items).toBe(1)

    expect((await api.deleteMe(env, user.token)).status).toBe(204)
    expect(await removedAtPlaid(env, itemIds)).toEqual([true, true])
    expect(await listed(env, user)).toEqual({ items: 0, accounts: 0, transactions: 0 })
    expect(await d1Rows(user.id)).toEqual({ item_index: 0, public_token_owners: 0 })
  })

  it("deletes an earlier release's rows from the old D1 tables too, so none come back into the emptied object", async () => {
    const env = testEnv()
    const { user, itemId } = await userOnlyInD1(env)
    expect((await api.deleteMe(env, user.token)).status).toBe(204)
    for (const table of LEGACY_TABLES) {
      const left = await db().prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`).bind(user.id).first()
      expect(left, table).toEqual({ n: 0 })
    }
    expect(await removedAtPlaid(env, [itemId])).toEqual([true])
    expect(await listed(env, user)).toEqual({ items: 0, accounts: 0, transactions: 0 })
  })

  it('answers 401 without a bearer token, and deletes nothing', async () => {
    const env = testEnv()
    const { user, itemIds } = await userWithTwoItems(env)
    expect((await api.deleteMe(env, undefined)).status).toBe(401)
    expect(await removedAtPlaid(env, itemIds)).toEqual([false, false])
    expect((await listed(env, user)).items).toBe(2)
  })
})

describe('DELETE /api/v1/operator/users/{user_id}', () => {
  it("deletes a user's data with OPERATOR_TOKEN as the bearer, no user token involved", async () => {
    const env = testEnv({ OPERATOR_TOKEN })
    const { user, itemIds } = await userWithTwoItems(env)
    const res = await api.deleteUser(env, OPERATOR_TOKEN, user.id)
    expect(res.status).toBe(204)
    expect(await removedAtPlaid(env, itemIds)).toEqual([true, true])
    expect(await d1Rows(user.id)).toEqual({ item_index: 0, public_token_owners: 0 })
    expect(await listed(env, user)).toEqual({ items: 0, accounts: 0, transactions: 0 })
  })

  it("refuses a missing or wrong token, and the user's own JWT, with 401; nothing is deleted", async () => {
    const env = testEnv({ OPERATOR_TOKEN })
    const { user, itemIds } = await userWithTwoItems(env)
    for (const token of [undefined, `${OPERATOR_TOKEN}x`, OPERATOR_TOKEN.slice(0, -1), user.token]) {
      const res = await api.deleteUser(env, token, user.id)
      expect(res.status).toBe(401)
      expect(res.body).toEqual({
        detail: 'missing or wrong operator token: send Authorization: Bearer <OPERATOR_TOKEN>',
      })
      expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"')
    }
    expect(await removedAtPlaid(env, itemIds)).toEqual([false, false])
  })

  it('does not exist without OPERATOR_TOKEN: 404, whatever the bearer', async () => {
    const env = testEnv()
    const { user, itemIds } = await userWithTwoItems(env)
    for (const token of [OPERATOR_TOKEN, user.token]) {
      expect(await api.deleteUser(env, token, user.id)).toMatchObject({
        status: 404,
        body: { detail: 'not found' },
      })
    }
    expect(await removedAtPlaid(env, itemIds)).toEqual([false, false])
  })

  it('refuses a user_id longer than an identity provider gives (255 characters) with 422', async () => {
    const env = testEnv({ OPERATOR_TOKEN })
    const res = await api.deleteUser(env, OPERATOR_TOKEN, 'u'.repeat(256))
    expect(res.status).toBe(422)
    expect(res.body.detail).toBe("user_id must be 1 to 255 characters: the sub of the user's tokens")
  })

  it('answers 500 naming OPERATOR_TOKEN when it is shorter than 32 characters, never its value', async () => {
    const env = testEnv({ OPERATOR_TOKEN: 'too-short-secret' })
    const res = await api.deleteUser(env, 'too-short-secret', 'someone')
    expect(res.status).toBe(500)
    expect(res.body.detail).toBe(
      'Failed to delete user data: server misconfigured: OPERATOR_TOKEN is shorter than 32 characters; set it to at least 32 random characters (openssl rand -base64 32 | wrangler secret put OPERATOR_TOKEN)',
    )
    expect(res.text).not.toContain('too-short-secret')
  })
})
