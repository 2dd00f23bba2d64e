import type { Config } from '../env'
import type { Logger } from '../log'
import { nextPosition, readCursor, saveCursor } from '../store/cron-cursors'
import { usersLeftToMove } from '../store/legacy-import'
import { userStore } from '../store/users'

/** Users moved per run: one call to each object, one after the other. */
export const MOVES_PER_RUN = 100

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
  for (const userId of users) {
    // One user whose move fails holds up no other; the next round tries them again. The line names
    // no user: a user id may be an email (the left_to_move query in README finds who is left).
    await userStore(config, userId)
      .moveIn(userId)
      .catch((error: unknown) => {
        failed++
        log('error', 'a user could not be moved into their object; tried again on a later run', {
          error: error instanceof Error ? error.name : 'unknown',
        })
      })
  }
  await saveCursor(config.db, 'move idle users', nextPosition(users, limit), now)
  if (users.length > 0) {
    log('info', 'users moved into their objects', {
      moved: users.length - failed,
      failed,
      more_left: users.length === limit,
    })
  }
}
