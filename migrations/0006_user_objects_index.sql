-- Each user's Items, accounts, transactions, public-token claims and sync cursors now live in
-- that user's own Durable Object (src/store/user-store.ts). D1 keeps only what must be found
-- without knowing the user. The tables above stay until the move of existing rows into the
-- objects has finished (README, "Storage").

-- Which user holds an Item (webhooks name only the Item), and the key that sealed its access token
-- (the hourly re-seal finds Items still sealed under an old key). A row exists only while the
-- user's object exists: background jobs touch no object that has no row here.
CREATE TABLE item_index (
  item_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  access_token_key_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX item_index_by_key ON item_index (access_token_key_id);

-- Which user exchanged a public token (by its SHA-256), so another user presenting it is refused
-- without reaching Plaid. Plaid's public tokens live 30 minutes: the cron deletes older rows.
CREATE TABLE public_token_owners (
  public_token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  claimed_at TEXT NOT NULL
) WITHOUT ROWID;
