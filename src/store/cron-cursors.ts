/**
 * Where each of the hourly cron's sweeps stopped (migrations/0009), so that the next run goes on
 * from there instead of from the first row again. Positions are ids in the order the sweep reads
 * them; '' means from the beginning.
 */
import { unixSeconds } from './item-upkeep'

/** The steps that keep a cursor; their names are the rows' keys. */
export type CursorStep = 'move idle users' | 're-seal access tokens'

/** Where the step's next run starts: after this id ('' for the first). */
export async function readCursor(db: D1Database, step: CursorStep): Promise<string> {
  const row = await db
    .prepare('SELECT position FROM cron_cursors WHERE step = ?')
    .bind(step)
    .first<{ position: string }>()
  return row?.position ?? ''
}

export async function saveCursor(db: D1Database, step: CursorStep, position: string, now: Date): Promise<void> {
  await db
    .prepare(
      `INSERT INTO cron_cursors (step, position, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (step) DO UPDATE SET position = ?2, updated_at = ?3`,
    )
    .bind(step, position, unixSeconds(now))
    .run()
}

/**
 * The cursor after a run that took `taken` rows of at most `limit`: the last one, or '' when the
 * run reached the end (fewer than asked for), so that the next run starts over from the first and
 * comes back to the rows that failed on the way.
 */
export const nextPosition = (taken: string[], limit: number) => (taken.length < limit ? '' : (taken.at(-1) ?? ''))
