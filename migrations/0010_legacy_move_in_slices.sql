-- The move into the users' objects in slices (src/store/legacy-import.ts; README, "Storage").

-- Each slice reads the next page of the user's old rows after the last key it copied. Without an
-- index on (user_id, key), every page sorts all the user's remaining rows: quadratic in a big
-- history. (A deployment that has already dropped the old tables skips these two: README.)
CREATE INDEX IF NOT EXISTS transactions_by_user_id ON transactions (user_id, transaction_id);
CREATE INDEX IF NOT EXISTS public_token_exchanges_by_user ON public_token_exchanges (user_id, public_token_hash);

-- When the user's object began copying. Items the earlier release wrote to D1 after that (during
-- its rollout) may have been missed by the copy: the hourly cron's reconciliation looks for them.
-- NULL for moves recorded before this migration (a move then took under 30 s: moved_at is close).
ALTER TABLE storage_moves ADD COLUMN copy_started_at TEXT;
