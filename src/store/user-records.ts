/**
 * The rows D1 keeps about a user outside their object: the index of their Items, the public tokens
 * they exchanged, and the record of their move from the old tables.
 */
export async function forgetUser(db: D1Database, userId: string): Promise<void> {
  await db.batch(
    ['item_index', 'public_token_owners', 'storage_moves'].map((table) =>
      db.prepare(`DELETE FROM ${table} WHERE user_id = ?`).bind(userId),
    ),
  )
}
