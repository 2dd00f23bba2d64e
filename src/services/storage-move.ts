import type { Config } from '../env'
import type { Logger } from '../log'
import { usersLeftToMove } from '../store/legacy-import'
import { userStore } from '../store/users'

/**
 * Moves up to `limit` users whose rows are still only in the D1 tables of earlier releases into
 * their objects (the hourly cron with MOVE_IDLE_USERS=true, until none is left). Users who come
 * back are moved by their own first request instead, which places their object near them; the
 * ones moved here get an object placed near where the cron ran.
 */
export async function moveUsersIntoObjects(config: Config, log: Logger, limit = 100): Promise<void> {
  for (const userId of await usersLeftToMove(config.db, limit)) {
    // One user whose move fails holds up no other; the next run tries them again. The line names
    // no user: a user id may be an email (the left_to_move query in README finds who is left).
    await userStore(config, userId)
      .moveIn(userId)
      .catch((error: unknown) =>
        log('error', 'a user could not be moved into their object; tried again next run', {
          error: error instanceof Error ? error.name : 'unknown',
        }),
      )
  }
}
