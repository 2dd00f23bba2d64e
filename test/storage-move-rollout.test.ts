/**
 * The move from D1 into users' objects under the faults of a real rollout: Items the earlier
 * release keeps writing after migration 0007, a history too big for one pass, and D1 failing
 * between recording the move and marking the object.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { itemSyncJob } from '../src/queue/jobs'
import { MOVE_IN_PROGRESS } from '../src/store/legacy/move'
import type { UserStore } from '../src/store/user-store'
import { api } from './helpers/api'
import { runCron } from './helpers/cron'
import { queuedJobs, runQueue, type TestEnv, testEnv } from './helpers/env'
import { apiView, insertLegacyRow, userOnlyInD1 } from './helpers/legacy-user'
import { captureLogs } from './helpers/logs'
import { rowsIn, userStoreOf } from './helpers/user-store'

const db = () => baseEnv.DB as D1Database

const indexed = (itemId: string) =>
  db().prepare('SELECT user_id FROM item_index WHERE item_id = ?').bind(itemId).first<{ user_id: string }>()

const moveRecorded = (userId: string) =>
  db().prepare('SELECT user_id FROM storage_moves WHERE user_id = ?').bind(userId).first()

/** Queues a SYNC_UPDATES_AVAILABLE job for the Item and runs the consumer; answers its log. */
async function webhookSync(env: TestEnv, itemId: string): Promise<string> {
  queuedJobs(env).push(itemSyncJob(itemId, 'linked', null))
  return (await captureLogs(() => runQueue(env))).logs
}

describe('the move into objects during a rollout', () => {
  it('indexes each Item it moves in, so webhooks find an Item the earlier release linked after 0007', async () => {
    const env = testEnv()
    const { user, itemId, before } = await userOnlyInD1(env)
    // Linked by the earlier release after 0007 filled the index: no row there.
    await db().prepare('DELETE FROM item_index WHERE item_id = ?').bind(itemId).run()

    expect(await apiView(env, user)).toEqual(before)
    expect(await indexed(itemId)).toEqual({ user_id: user.id })
    const logs = await webhookSync(env, itemId)
    expect(logs).toContain('webhook sync done')
    expect(logs).not.toContain('webhook for an unknown item ignored')
  })

  it('has the hourly cron copy in an Item the earlier release wrote after the user moved', async () => {
    const env = testEnv()
    const { user, itemId, rows } = await userOnlyInD1(env)
    await apiView(env, user)
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    // The earlier release, still serving somewhere, links another bank for the user.
    const late = `late-${itemId}`
    const [item] = rows.items ?? []
    const [account] = rows.accounts ?? []
    const now = new Date().toISOString()
    await insertLegacyRow('items', {
      ...item,
      user_id: user.id,
      item_id: late,
      institution_id: 'ins_late',
      created_at: now,
      updated_at: now,
    })
    await insertLegacyRow('accounts', { ...account, user_id: user.id, item_id: late, account_id: `late-${now}` })
    const listed = async () =>
      ((await api.items(env, user.token)).body.items as { item_id: string }[]).map((i) => i.item_id)
    expect(await listed()).not.toContain(late)

    const { logs } = await captureLogs(() => runCron(env))
    expect(logs).toContain('items of the earlier release reconciled')
    expect((await listed()).sort()).toEqual([itemId, late].sort())
    expect(await indexed(late)).toEqual({ user_id: user.id })
    // Reconciled once: its old rows are gone, so a later removal by the user stays removed.
    expect(await db().prepare('SELECT 1 FROM items WHERE item_id = ?').bind(late).first()).toBeNull()
  })

  it('moves a big history in slices: 503 with Retry-After until done, each slice going on from the last key copied', async () => {
    const env = testEnv()
    const { user, before, rows } = await userOnlyInD1(env)
    const all = (rows.transactions ?? []).map((t) => t.transaction_id as string).sort()
    expect(all.length).toBeGreaterThan(10)
    // A slice of at most 5 rows (pages of 3), instead of 50,000 or 5 s.
    await runInDurableObject(userStoreOf(user.id), (instance) => {
      ;(instance as UserStore).moveSlice = { pageRows: 3, maxRows: 5, maxMs: 60_000 }
    })

    const dropped: string[] = []
    let answers503 = 0
    for (;;) {
      const res = await api.items(env, user.token)
      if (res.status === 200) break
      expect(res.status).toBe(503)
      expect(res.body).toEqual({ detail: MOVE_IN_PROGRESS })
      expect(res.headers.get('Retry-After')).toBe('2')
      answers503++
      expect(answers503).toBeLessThan(100)
      // Rows copied by an earlier slice are never read again: dropped here, they stay dropped.
      if (dropped.length === 0) {
        const copied = await rowsIn<{ transaction_id: string }>(user.id, 'SELECT transaction_id FROM transactions')
        dropped.push(...copied.map((t) => t.transaction_id))
        await runInDurableObject(userStoreOf(user.id), (_instance, state) => {
          state.storage.sql.exec('DELETE FROM transactions')
        })
      }
    }
    expect(answers503).toBeGreaterThan(all.length / 5 - 1)
    expect(dropped.length).toBeGreaterThan(0)
    const kept = await rowsIn<{ transaction_id: string }>(user.id, 'SELECT transaction_id FROM transactions')
    expect(kept.map((t) => t.transaction_id).sort()).toEqual(all.filter((id) => !dropped.includes(id)))
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    expect((await apiView(env, user)).items).toEqual(before.items)
  })

  it('records the move in D1 before marking the object: when that write fails, the next request finishes the move and webhooks reach the user', async () => {
    const env = testEnv()
    const { user, itemId, before } = await userOnlyInD1(env)
    // D1 refuses the record of the move (here: its table is missing for a moment).
    await db().prepare('ALTER TABLE storage_moves RENAME TO storage_moves_away').run()
    try {
      const failed = await api.items(env, user.token)
      expect(failed.status).toBe(500)
    } finally {
      await db().prepare('ALTER TABLE storage_moves_away RENAME TO storage_moves').run()
    }

    expect(await apiView(env, user)).toEqual(before)
    expect(await moveRecorded(user.id)).toEqual({ user_id: user.id })
    const logs = await webhookSync(env, itemId)
    expect(logs).not.toContain("webhook left for the user's return")
    expect(logs).toContain('webhook sync done')
  })
})
