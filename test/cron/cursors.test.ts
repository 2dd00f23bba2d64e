import { env as baseEnv } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RESEALS_PER_RUN } from '../../src/services/access-token'
import { MOVES_PER_RUN } from '../../src/store/legacy/cron'
import { forgetIndexedItems, runCron } from '../helpers/cron'
import { testEnv } from '../helpers/env'
import { userOnlyInD1 } from '../helpers/legacy-user'
import { itemIdOf, linkItem, newUser } from '../helpers/linking'
import { captureLogs, logRecords } from '../helpers/logs'
import { poisonedUserStore } from '../helpers/user-store'

const db = () => baseEnv.DB as D1Database

/** Ids that sort before every id the tests and the emulator make ('user-…', Plaid's Item ids). */
const first = (kind: string, count: number) =>
  Array.from({ length: count }, (_, n) => `!${kind}-${String(n).padStart(3, '0')}`)

/** Users of an earlier release who exchanged a public token and were never moved into their object. */
async function leftInD1(userIds: string[]) {
  const claimedAt = new Date().toISOString()
  await db().batch(
    userIds.map((userId) =>
      db()
        .prepare(
          'INSERT INTO public_token_exchanges (public_token_hash, user_id, item_id, claimed_at) VALUES (?, ?, NULL, ?)',
        )
        .bind(`hash-of-${userId}`, userId, claimedAt),
    ),
  )
}

const moveRecorded = (userId: string) =>
  db().prepare('SELECT user_id FROM storage_moves WHERE user_id = ?').bind(userId).first()

const keyIdOf = async (itemId: string) =>
  (
    await db()
      .prepare('SELECT access_token_key_id FROM item_index WHERE item_id = ?')
      .bind(itemId)
      .first<{ access_token_key_id: string }>()
  )?.access_token_key_id

beforeEach(forgetIndexedItems)
// The rows these tests make would fill other tests' runs.
afterEach(async () => {
  await db().batch([
    db().prepare("DELETE FROM public_token_exchanges WHERE user_id LIKE '!%'"),
    db().prepare('DELETE FROM cron_cursors'),
  ])
})

describe('the hourly cron’s sweeps go on from where the last run stopped', () => {
  it(`moves a user who comes after ${MOVES_PER_RUN} whose moves keep failing, at the next run`, async () => {
    const env = { ...testEnv(), MOVE_IDLE_USERS: 'true' }
    const { user } = await userOnlyInD1(env)
    const stuck = first('stuck-user', MOVES_PER_RUN)
    await leftInD1(stuck)
    const poisoned = { ...env, USER_STORE: poisonedUserStore(...stuck) }

    const { logs } = await captureLogs(() => runCron(poisoned))
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({ message: 'users moved into their objects', moved: 0, failed: MOVES_PER_RUN }),
    )
    expect(await moveRecorded(user.id)).toBeNull()

    const second = await captureLogs(() => runCron(poisoned))
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    expect(logRecords(second.logs)).toContainEqual(
      expect.objectContaining({ message: 'users moved into their objects', moved: 1, failed: 0, more_left: false }),
    )
    // The round is over: the next run starts again from the first, whose moves now work.
    await runCron(env)
    expect(await moveRecorded(stuck[0] as string)).toEqual({ user_id: stuck[0] })
    // A run's worth of users, three times: bounded work, but more than the default 5 s on a busy machine.
  }, 60_000)

  it(`re-seals an Item that comes after ${RESEALS_PER_RUN} it cannot re-seal yet, at the next run, and logs what each old key still seals`, async () => {
    const retiring = btoa('a-key-the-sweep-test-retires-32b')
    const env = testEnv({ TOKEN_ENCRYPTION_KEY: retiring })
    const user = await newUser()
    const idle = itemIdOf(await linkItem(env, user))
    const keyId = (await keyIdOf(idle)) as string
    // Items of users of an earlier release, first in item_id order: re-sealed only once they are moved.
    const waitingUsers = first('waiting-user', RESEALS_PER_RUN)
    await leftInD1(waitingUsers)
    await db().batch(
      waitingUsers.map((userId, n) =>
        db()
          .prepare('INSERT INTO item_index (item_id, user_id, access_token_key_id, sync_due_at) VALUES (?, ?, ?, 1e12)')
          .bind(`!waiting-item-${String(n).padStart(3, '0')}`, userId, keyId),
      ),
    )
    const rotated = {
      ...env,
      TOKEN_ENCRYPTION_KEY: btoa('the-key-the-sweep-test-moves-to!'),
      TOKEN_ENCRYPTION_KEYS_OLD: retiring,
    }
    const sweep = async () => logRecords((await captureLogs(() => runCron(rotated))).logs)
    const left = (items: number) =>
      expect.objectContaining({ message: 'items still sealed under an old key', key_id: keyId, items_left: items })

    const firstRun = await sweep()
    expect(firstRun).toContainEqual(
      expect.objectContaining({
        message: 'access tokens re-sealed under the current key',
        resealed: 0,
        awaiting_move: RESEALS_PER_RUN,
        round_done: false,
      }),
    )
    expect(firstRun).toContainEqual(left(RESEALS_PER_RUN + 1))
    expect(await keyIdOf(idle)).toBe(keyId)

    const secondRun = await sweep()
    expect(await keyIdOf(idle)).not.toBe(keyId)
    expect(secondRun).toContainEqual(
      expect.objectContaining({
        message: 'access tokens re-sealed under the current key',
        resealed: 1,
        round_done: true,
      }),
    )
    expect(secondRun).toContainEqual(left(RESEALS_PER_RUN))

    // Their users gone (their Items removed), nothing is sealed under the old key: it can be retired.
    await db().prepare("DELETE FROM item_index WHERE item_id LIKE '!%'").run()
    expect(await sweep()).toContainEqual(left(0))
  }, 60_000)
})
