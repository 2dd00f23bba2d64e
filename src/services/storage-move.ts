import type { Config } from '../config'
import type { Logger } from '../log'
import { nextPosition, readCursor, saveCursor } from '../store/cron-cursors'
import {
  deleteLegacyItem,
  indexUnmovedLegacyItems,
  legacyItemsToReconcile,
  usersLeftToMove,
} from '../store/legacy-import'
import { userStore } from '../store/users'

/** Users moved per run: one after the other, each in slices. */
export const MOVES_PER_RUN = 100

/** Slices of one user's move per run: a 200,000-transaction user needs about four (legacy-import.ts). */
const SLICES_PER_USER = 10

/**
 * Moves up to `limit` users whose rows are still only in the D1 tables of earlier releases into
 * their objects (the hourly cron with MOVE_IDLE_USERS=true, until none is left). Users who come
 * back are moved by their own first request instead, which places their object near them; the
 * ones moved here get an object placed near where the cron ran. Each run goes on after the last
 * user the previous one took, so users whose move keeps failing never fill every run.
 */
export async function moveUsersIntoObjects(config: Config, log: Logger, now: Date, limit = MOVES_PER_RUN) {
  const users = await usersLeftToMove(config.db, await readCursor(config.db, 'move idle users'), limit)
  let failed = 0
  let unfinished = 0
  for (const userId of users) {
    // One user whose move fails holds up no other; the next round tries them again (from where the
    // copy stopped). The line names no user: a user id may be an email (the left_to_move query in
    // README finds who is left).
    try {
      const store = userStore(config, userId)
      let done = false
      // Each call is one slice, a request of its own for the object's time limits.
      for (let slice = 0; slice < SLICES_PER_USER && !done; slice++) done = await store.moveIn(userId)
      if (!done) unfinished++
    } catch (error) {
      failed++
      log('error', 'a user could not be moved into their object; tried again on a later run', {
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
  }
  await saveCursor(config.db, 'move idle users', nextPosition(users, limit), now)
  if (users.length > 0) {
    log('info', 'users moved into their objects', {
      moved: users.length - failed - unfinished,
      // Big users whose move goes on at their next turn (or their next request).
      unfinished,
      failed,
      more_left: users.length === limit,
    })
  }
}

/**
 * Reconciles the Items the earlier release wrote to D1 during its rollout, after migration 0007
 * filled the index (the hourly cron, until the old tables are dropped): indexes those of users
 * not moved yet, and hands those of moved users to their objects, which index them and copy them
 * in if they were written after the copy began. An Item so handled leaves the old tables, so a
 * later removal by the user is not undone and the next run does not see it again.
 */
export async function reconcileLegacyItems(config: Config, log: Logger, limit = 100): Promise<void> {
  const indexed = await indexUnmovedLegacyItems(config.db)
  let copied = 0
  let failed = 0
  for (const { user_id, item_id, recent } of await legacyItemsToReconcile(config.db, limit)) {
    // One Item that fails holds up no other; it is tried again next run.
    try {
      const outcome = await userStore(config, user_id).reconcileLegacyItem(user_id, item_id, recent === 1)
      await deleteLegacyItem(config.db, user_id, item_id)
      if (outcome === 'copied') copied++
    } catch (error) {
      failed++
      log('error', 'an item of the earlier release could not be reconciled; tried again next run', {
        item_id,
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
  }
  if (indexed > 0 || copied > 0 || failed > 0) {
    log(failed > 0 ? 'error' : 'info', 'items of the earlier release reconciled', { indexed, copied, failed })
  }
}
