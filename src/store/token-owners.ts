/**
 * Which user exchanged a public token, kept globally in D1: the claim that stops a second exchange
 * lives in the user's object, where another user's request cannot look.
 */

/** Plaid's public tokens expire after 30 minutes; an owner row is useless after that. */
const KEEP_MS = 60 * 60_000

/** Records this user as the token's owner, or answers the user who already is. */
export async function claimTokenOwner(db: D1Database, hash: string, userId: string, now: Date): Promise<string> {
  const row = await db
    .prepare(
      `INSERT INTO public_token_owners (public_token_hash, user_id, claimed_at) VALUES (?, ?, ?)
       ON CONFLICT (public_token_hash) DO UPDATE SET claimed_at = claimed_at
       RETURNING user_id`,
    )
    .bind(hash, userId, now.toISOString())
    .first<{ user_id: string }>()
  return row?.user_id ?? userId
}

/** Deletes owner rows of tokens Plaid no longer accepts (the hourly cron). */
export async function pruneTokenOwners(db: D1Database, now: Date): Promise<void> {
  await db
    .prepare('DELETE FROM public_token_owners WHERE claimed_at < ?')
    .bind(new Date(now.getTime() - KEEP_MS).toISOString())
    .run()
}
