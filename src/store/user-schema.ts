/**
 * The schema of a user's object (user-store.ts), as numbered steps. Each object keeps the number
 * of the last step it ran and runs the missing ones on first use, so objects written by an older
 * release upgrade themselves when the new release first touches them. Steps are only ever
 * appended: an object may sit untouched at any version for years.
 */

/** One step per schema version; step i brings an object from version i to version i + 1. */
export const USER_SCHEMA_STEPS: readonly string[] = [
  // Version 1: what used to live in D1, without user_id columns (the object is the user). WITHOUT
  // ROWID: each table is its primary key's b-tree, one index less per row.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE items (item_id TEXT PRIMARY KEY, institution_id TEXT, institution_name TEXT,
status TEXT NOT NULL DEFAULT 'good', error_code TEXT, access_token_sealed TEXT NOT NULL,
access_token_key_id TEXT NOT NULL, new_accounts_available INTEGER NOT NULL DEFAULT 0,
status_webhook_signed_at INTEGER, transactions_cursor TEXT, transactions_synced_at TEXT,
created_at TEXT NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE accounts (account_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, name TEXT NOT NULL,
official_name TEXT, mask TEXT, type TEXT NOT NULL, subtype TEXT, balance_available REAL,
balance_current REAL, balance_limit REAL, iso_currency_code TEXT, unofficial_currency_code TEXT,
balances_updated_at TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX accounts_by_item ON accounts (item_id);
CREATE TABLE public_token_exchanges (public_token_hash TEXT PRIMARY KEY, item_id TEXT,
claimed_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE transactions (transaction_id TEXT PRIMARY KEY, item_id TEXT NOT NULL,
account_id TEXT NOT NULL, amount REAL NOT NULL, iso_currency_code TEXT, unofficial_currency_code TEXT,
date TEXT NOT NULL, authorized_date TEXT, name TEXT, merchant_name TEXT, pending INTEGER NOT NULL,
pending_transaction_id TEXT, payment_channel TEXT, category_primary TEXT, category_detailed TEXT,
updated_at TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX transactions_by_date ON transactions (date DESC, transaction_id DESC);
CREATE INDEX transactions_by_item ON transactions (item_id);`,
  // Version 2: syncs stage each page here (each transaction as Plaid sent it, in JSON) and apply
  // them at the end (sync-staging.ts), so a sync holds one page in memory whatever the history.
  `CREATE TABLE sync_runs (sync_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, start_cursor TEXT,
started_at TEXT NOT NULL, added INTEGER NOT NULL DEFAULT 0, modified INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE sync_staging (sync_id TEXT NOT NULL, transaction_id TEXT NOT NULL, removed INTEGER NOT NULL,
data TEXT, PRIMARY KEY (sync_id, transaction_id)) WITHOUT ROWID;`,
  // Version 3: Plaid's enrichment of each transaction (columns.ts, ENRICHED_FIELDS) as one JSON
  // object. Rows synced before stay NULL: Plaid sends a transaction again only when it changes.
  'ALTER TABLE transactions ADD COLUMN enrichment TEXT;',
  // Version 4: when an Item stops working unless the user reconnects (PENDING_EXPIRATION's
  // consent_expiration_time, PENDING_DISCONNECT's disconnect_time), so the app can say "by when".
  `ALTER TABLE items ADD COLUMN consent_expiration_time TEXT;
ALTER TABLE items ADD COLUMN disconnect_time TEXT;`,
  // Version 5: when a live balance check of the Item last went to Plaid, for its cooldown
  // (balance-refresh-claims.ts).
  'ALTER TABLE items ADD COLUMN balances_refresh_claimed_at TEXT;',
  // Version 6: links Plaid exchanged that are not stored yet (pending-links.ts).
  `CREATE TABLE pending_links (item_id TEXT PRIMARY KEY, public_token_hash TEXT NOT NULL,
access_token_sealed TEXT NOT NULL, access_token_key_id TEXT NOT NULL, institution_id TEXT,
institution_name TEXT, created_at TEXT NOT NULL) WITHOUT ROWID;`,
  // Version 7: one Item's transactions in listing order, so a page of `?item_id=` reads its rows
  // instead of sorting all of the Item's (about a second a page at 50,000); it also serves every
  // lookup by item_id, so the index on item_id alone goes.
  `CREATE INDEX transactions_by_item_date ON transactions (item_id, date DESC, transaction_id DESC);
DROP INDEX transactions_by_item;`,
  // Version 8: a run's apply in bounded parts (sync-staging.ts). next_cursor is set when its
  // staging is complete and the apply has begun, which makes the run one to finish, never to drop;
  // removed counts the removals applied so far, as each part deletes the staging it applied.
  `ALTER TABLE sync_runs ADD COLUMN next_cursor TEXT;
ALTER TABLE sync_runs ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;`,
]

export const USER_SCHEMA_VERSION = USER_SCHEMA_STEPS.length

/** The version the object's storage is at: 0 for a new object (which has no meta table yet). */
export function schemaVersion(sql: SqlStorage): number {
  try {
    return Number(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]?.value ?? 0)
  } catch {
    return 0
  }
}

/**
 * Runs the steps the object has not run, up to `target` (the current version unless a test asks
 * for an older one). Each step and the new version number are written in one transaction, so a
 * step is either done and counted or not done at all.
 */
export function migrateUserSchema(storage: DurableObjectStorage, target = USER_SCHEMA_VERSION): number {
  const sql = storage.sql
  let version = schemaVersion(sql)
  while (version < target) {
    const step = USER_SCHEMA_STEPS[version] as string
    storage.transactionSync(() => {
      sql.exec(step)
      sql.exec("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", String(version + 1))
    })
    version++
  }
  return version
}
