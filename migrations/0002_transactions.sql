-- Transactions kept current with /transactions/sync. The Item's cursor and its transactions
-- are always written in one transaction, so they can never disagree.
ALTER TABLE items ADD COLUMN transactions_cursor TEXT;
ALTER TABLE items ADD COLUMN transactions_synced_at TEXT;

CREATE TABLE transactions (
  transaction_id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL REFERENCES items (item_id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  amount REAL NOT NULL,
  iso_currency_code TEXT,
  unofficial_currency_code TEXT,
  date TEXT NOT NULL,
  authorized_date TEXT,
  name TEXT,
  merchant_name TEXT,
  pending INTEGER NOT NULL,
  pending_transaction_id TEXT,
  payment_channel TEXT,
  category_primary TEXT,
  category_detailed TEXT,
  updated_at TEXT NOT NULL
);
-- Listing is newest first per user, paged by (date, transaction_id).
CREATE INDEX transactions_by_user_date ON transactions (user_id, date DESC, transaction_id DESC);
CREATE INDEX transactions_by_item ON transactions (item_id);
