/**
 * The two gates the rest of the code passes while users of earlier releases still have rows in
 * the old D1 tables (README.md here): the user's object passes legacyGate before it serves any
 * call, and background jobs (queue consumer, cron) ask awaitsMove before they wake an object.
 */
import { IMPORTED, MoveInProgressError, type MoveSlice, moveSlice, tablesGone } from './move'

/**
 * Lets a call through to the user's object once the user's rows are in it. Until then each call
 * first copies the next slice of them (moveNextSlice), and fails with MoveInProgressError (503,
 * Retry-After) if rows are left after it.
 */
export async function legacyGate(
  state: DurableObjectState,
  db: D1Database,
  userId: string,
  slice: MoveSlice,
): Promise<void> {
  if (!state.storage.sql.exec(IMPORTED).toArray()[0] && !(await moveNextSlice(state, db, userId, slice))) {
    throw new MoveInProgressError()
  }
}

/** One slice of the move, alone in the object (every other call held meanwhile); true once the move is over. */
export function moveNextSlice(
  state: DurableObjectState,
  db: D1Database,
  userId: string,
  slice: MoveSlice,
): Promise<boolean> {
  return state.blockConcurrencyWhile(() => moveSlice(db, state.storage, userId, slice))
}

/**
 * Whether the user still has rows in the old tables that no object of theirs has taken: their
 * object may not exist yet, and background jobs must not create it (it would be placed near the
 * queue consumer or the cron rather than near the user), so they leave such users to their return.
 */
export async function awaitsMove(db: D1Database, userId: string): Promise<boolean> {
  try {
    const row = await db
      .prepare(
        `SELECT (EXISTS (SELECT 1 FROM items WHERE user_id = ?1)
                 OR EXISTS (SELECT 1 FROM public_token_exchanges WHERE user_id = ?1))
                AND NOT EXISTS (SELECT 1 FROM storage_moves WHERE user_id = ?1) AS waiting`,
      )
      .bind(userId)
      .first<{ waiting: number }>()
    return row?.waiting === 1
  } catch (error) {
    if (tablesGone(error)) return false
    throw error
  }
}
