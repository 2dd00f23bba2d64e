-- Linked Items and their accounts, per user. Every query filters by user_id.

-- One row per Plaid Item. The access token is stored only sealed with AES-GCM
-- (access_token_sealed), with the id of the key that sealed it so keys can rotate.
CREATE TABLE items (
  item_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  institution_id TEXT,
  institution_name TEXT,
  -- good | login_required | pending_expiration | pending_disconnect | permission_revoked
  status TEXT NOT NULL DEFAULT 'good',
  error_code TEXT,
  access_token_sealed TEXT NOT NULL,
  access_token_key_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX items_by_user ON items (user_id, created_at);
-- A user links each institution once (duplicate Items are billed twice by Plaid).
CREATE UNIQUE INDEX items_one_per_institution ON items (user_id, institution_id)
  WHERE institution_id IS NOT NULL;

CREATE TABLE accounts (
  account_id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL REFERENCES items (item_id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  official_name TEXT,
  mask TEXT,
  type TEXT NOT NULL,
  subtype TEXT,
  balance_available REAL,
  balance_current REAL,
  balance_limit REAL,
  iso_currency_code TEXT,
  unofficial_currency_code TEXT,
  balances_updated_at TEXT NOT NULL
);
CREATE INDEX accounts_by_user ON accounts (user_id, item_id);

-- Public tokens being or already exchanged, keyed by their SHA-256 (the token itself is a
-- credential and is not kept). Claiming a row before calling Plaid makes a repeated or racing
-- exchange of the same token answer from here instead of creating a second Item.
CREATE TABLE public_token_exchanges (
  public_token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  item_id TEXT,
  claimed_at TEXT NOT NULL
);
