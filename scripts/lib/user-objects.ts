/**
 * Reads what the users' Durable Objects hold in a local state directory (`wrangler dev
 * --persist-to DIR`): each object is one SQLite file under DIR/v3/do/<worker>-UserStore/. Read
 * with the sqlite3 command-line tool (Debian's `sqlite3` package), after `wrangler dev` stopped.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export type ObjectRows = Record<string, unknown>

export type UserObject = {
  file: string
  userId: string
  bytes: number
  items: ObjectRows[]
  accounts: ObjectRows[]
  transactions: ObjectRows[]
  claims: ObjectRows[]
  staged: number
}

/** The SQLite files of every UserStore object under a --persist-to directory. */
export function userObjectFiles(persistTo: string): string[] {
  const root = join(persistTo, 'v3', 'do')
  if (!existsSync(root)) return []
  return readdirSync(root)
    .filter((dir) => dir.endsWith('-UserStore'))
    .flatMap((dir) =>
      readdirSync(join(root, dir))
        // One file per object, named by its id (metadata.sqlite beside them is the runtime's).
        .filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f))
        .map((f) => join(root, dir, f)),
    )
}

export function sqliteQuery(file: string, sql: string): ObjectRows[] {
  let out: string
  try {
    out = execFileSync('sqlite3', ['-readonly', '-json', file, sql], { encoding: 'utf8', maxBuffer: 1 << 30 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('the sqlite3 command is needed to read the objects (apt-get install -y sqlite3)')
    }
    throw error
  }
  return out.trim() ? (JSON.parse(out) as ObjectRows[]) : []
}

/** Everything each user's object holds, with the user it belongs to (its meta row). */
export function readUserObjects(persistTo: string): UserObject[] {
  return userObjectFiles(persistTo).map((file) => {
    const userId = String(sqliteQuery(file, "SELECT value FROM meta WHERE key = 'user_id'")[0]?.value ?? '')
    const withUser = (rows: ObjectRows[]) => rows.map((r) => ({ ...r, user_id: userId }))
    const bytes = [file, `${file}-wal`].filter(existsSync).reduce((n, f) => n + statSync(f).size, 0)
    return {
      file,
      userId,
      bytes,
      items: withUser(sqliteQuery(file, 'SELECT * FROM items')),
      accounts: withUser(sqliteQuery(file, 'SELECT * FROM accounts')),
      transactions: withUser(sqliteQuery(file, 'SELECT * FROM transactions')),
      claims: withUser(sqliteQuery(file, 'SELECT * FROM public_token_exchanges')),
      staged: Number(sqliteQuery(file, 'SELECT COUNT(*) AS n FROM sync_staging')[0]?.n ?? 0),
    }
  })
}
