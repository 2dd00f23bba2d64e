-- The one-time move of the rows in items, accounts, transactions and public_token_exchanges into
-- the users' objects (src/store/legacy-import.ts; README, "Storage"). Each user's object copies its
-- user's rows on first use; the hourly cron copies those of users who have not come back.

-- A user whose rows have been copied into their object. The object's own record (its meta row
-- legacy_import) is what stops a second copy; this table is the operator's view of progress and
-- the cron's list of what is left.
CREATE TABLE storage_moves (
  user_id TEXT PRIMARY KEY,
  moved_at TEXT NOT NULL
) WITHOUT ROWID;

-- Existing Items in the index, so their webhooks and the re-seal find their user during the move.
INSERT INTO item_index (item_id, user_id, access_token_key_id)
  SELECT item_id, user_id, access_token_key_id FROM items WHERE true
  ON CONFLICT (item_id) DO NOTHING;
