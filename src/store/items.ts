/**
 * Items and accounts in the user's own SQLite storage (the user's object, user-store.ts). The
 * object is the user, so no query names one: another user's rows are in another object.
 * Multi-statement writes run inside the caller's transactionSync.
 */
import { DEAD_STATUSES, type ItemStatus } from '../plaid/item-status'
import type { AccountBase } from '../plaid/types'
import { fromExcluded } from './columns'

type ItemFields = {
  item_id: string
  institution_id: string | null
  institution_name: string | null
  status: ItemStatus
  error_code: string | null
  /** When its transactions were last brought up to date; null until its first sync has run. */
  transactions_synced_at: string | null
  /** PENDING_EXPIRATION: when the user's consent expires (EU and UK); null otherwise. */
  consent_expiration_time: string | null
  /** PENDING_DISCONNECT: when the Item stops working unless the user reconnects (US and CA); null otherwise. */
  disconnect_time: string | null
  created_at: string
  updated_at: string
}

/** An Item as the API shows it. */
export type Item = ItemFields & {
  /** Plaid said the user has accounts they have not shared: offer update mode with account selection. */
  new_accounts_available: boolean
}

/** The public columns of an Item row (SQLite keeps booleans as 0/1). */
type ItemRow = ItemFields & { new_accounts_available: number }

/** An Item row with its sealed access token: never leaves the Worker. */
export type StoredItem = ItemRow & {
  user_id: string
  access_token_sealed: string
  access_token_key_id: string
  transactions_cursor?: string | null
}

export type Account = {
  account_id: string
  item_id: string
  name: string
  official_name: string | null
  mask: string | null
  type: string
  subtype: string | null
  balances: {
    available: number | null
    current: number | null
    limit: number | null
    iso_currency_code: string | null
    unofficial_currency_code: string | null
  }
  balances_updated_at: string
}

type AccountRow = Omit<Account, 'balances'> & {
  balance_available: number | null
  balance_current: number | null
  balance_limit: number | null
  iso_currency_code: string | null
  unofficial_currency_code: string | null
}

const ITEM_COLUMNS = `item_id, institution_id, institution_name, status, error_code, new_accounts_available,
  transactions_synced_at, consent_expiration_time, disconnect_time, created_at, updated_at`

export function listItems(sql: SqlStorage): Item[] {
  return sql.exec<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items ORDER BY created_at, item_id`).toArray().map(publicItem)
}

/** Rows as stored, with the user id the sealed tokens are bound to. */
export function listStoredItems(sql: SqlStorage, userId: string): StoredItem[] {
  return sql.exec<StoredItem>('SELECT *, ? AS user_id FROM items ORDER BY created_at, item_id', userId).toArray()
}

export function findItem(sql: SqlStorage, userId: string, itemId: string): StoredItem | null {
  return (
    sql.exec<StoredItem>('SELECT *, ? AS user_id FROM items WHERE item_id = ?', userId, itemId).toArray()[0] ?? null
  )
}

/** An account as Plaid's duplicate-Item rule compares them. */
export type AccountIdentity = { name: string; mask: string | null }

/**
 * The user's Items that share an account (same name and mask) with `accounts` at `institutionId`;
 * with the institution, that is what makes a new Item a duplicate (Plaid's "preventing duplicate
 * Items" guide), while a second login at the same bank with other accounts is not one.
 */
const DUPLICATE_ITEMS = `SELECT i.item_id FROM items i
  WHERE i.institution_id = ?1
    AND i.status NOT IN (${DEAD_STATUSES.map((s) => `'${s}'`).join(', ')})
    AND EXISTS (SELECT 1 FROM accounts a, json_each(?2) j
      WHERE a.item_id = i.item_id AND a.name = j.value ->> 'name' AND a.mask IS j.value ->> 'mask')`

const identities = (accounts: AccountIdentity[]) => JSON.stringify(accounts.map(({ name, mask }) => ({ name, mask })))

/** The user's Item that a new Item with these accounts at this institution would duplicate, if any. */
export function findDuplicateItem(
  sql: SqlStorage,
  institutionId: string,
  accounts: AccountIdentity[],
): { item_id: string } | null {
  return (
    sql
      .exec<{ item_id: string }>(
        `${DUPLICATE_ITEMS} ORDER BY i.created_at, i.item_id LIMIT 1`,
        institutionId,
        identities(accounts),
      )
      .toArray()[0] ?? null
  )
}

/** Every other Item of the user that a new Item with these accounts at this institution duplicates, oldest first. */
export function findDuplicateItems(
  sql: SqlStorage,
  institutionId: string,
  accounts: AccountIdentity[],
  newItemId: string,
): string[] {
  return sql
    .exec<{ item_id: string }>(
      `${DUPLICATE_ITEMS} AND i.item_id <> ?3 ORDER BY i.created_at, i.item_id`,
      institutionId,
      identities(accounts),
      newItemId,
    )
    .toArray()
    .map((row) => row.item_id)
}

/** Publicly visible fields of an Item row (drops the sealed token and the user id). */
export function publicItem(item: ItemRow): Item {
  const { item_id, institution_id, institution_name, status, error_code, created_at, updated_at } = item
  return {
    item_id,
    institution_id,
    institution_name,
    status,
    error_code,
    new_accounts_available: item.new_accounts_available === 1,
    transactions_synced_at: item.transactions_synced_at ?? null,
    consent_expiration_time: item.consent_expiration_time ?? null,
    disconnect_time: item.disconnect_time ?? null,
    created_at,
    updated_at,
  }
}

/** Records (or clears) that the user has accounts at the institution they have not shared yet. */
export function setNewAccountsAvailable(sql: SqlStorage, itemId: string, available: boolean, now: string): void {
  sql.exec(
    'UPDATE items SET new_accounts_available = ?, updated_at = ? WHERE item_id = ?',
    available ? 1 : 0,
    now,
    itemId,
  )
}

/** An account's columns after its id and Item, in the order upsertAccount binds them. */
const ACCOUNT_FIELDS = [
  'name',
  'official_name',
  'mask',
  'type',
  'subtype',
  'balance_available',
  'balance_current',
  'balance_limit',
  'iso_currency_code',
  'unofficial_currency_code',
  'balances_updated_at',
]

/**
 * Stores an account under the Item; nothing when that Item is not stored, and nothing when the
 * account_id already belongs to another of the user's Items (an id never moves between Items).
 */
function upsertAccount(sql: SqlStorage, itemId: string, account: AccountBase, now: string) {
  const b = account.balances
  sql.exec(
    `INSERT INTO accounts (account_id, item_id, ${ACCOUNT_FIELDS.join(', ')})
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13
     WHERE EXISTS (SELECT 1 FROM items WHERE item_id = ?2)
     ON CONFLICT (account_id) DO UPDATE SET ${fromExcluded(ACCOUNT_FIELDS)}
     WHERE accounts.item_id = excluded.item_id`,
    account.account_id,
    itemId,
    account.name,
    account.official_name ?? null,
    account.mask ?? null,
    account.type,
    account.subtype ?? null,
    b.available ?? null,
    b.current ?? null,
    b.limit ?? null,
    b.iso_currency_code ?? null,
    b.unofficial_currency_code ?? null,
    b.last_updated_datetime ?? now,
  )
}

/**
 * Stores the balances a /transactions/sync page carried for the Item's accounts, as seen at
 * `seenAt`, unless a later reading (a live refresh that finished meanwhile) is stored already.
 * Times are compared as times: Plaid's `last_updated_datetime` has no milliseconds, ours do.
 * Accounts are added and dropped by linking and refreshes, never by a sync page.
 */
export function saveSeenBalances(sql: SqlStorage, itemId: string, accounts: AccountBase[], seenAt: string): void {
  if (accounts.length === 0) return
  sql.exec(
    `UPDATE accounts SET balance_available = j.value ->> '$.balances.available',
       balance_current = j.value ->> '$.balances.current', balance_limit = j.value ->> '$.balances.limit',
       iso_currency_code = j.value ->> '$.balances.iso_currency_code',
       unofficial_currency_code = j.value ->> '$.balances.unofficial_currency_code', balances_updated_at = ?3
     FROM json_each(?2) j
     WHERE accounts.account_id = j.value ->> 'account_id' AND accounts.item_id = ?1
       AND julianday(accounts.balances_updated_at) <= julianday(?3)`,
    itemId,
    JSON.stringify(accounts),
    seenAt,
  )
}

/**
 * Stores a newly linked Item, its accounts, and marks its public token as exchanged (call inside
 * one transactionSync: either the whole link is saved or nothing is). Answers false, writing
 * nothing, when the user already has an Item it duplicates; deciding that inside the transaction
 * settles two concurrent links of the same login. With `evenIfDuplicate` (the new Item replaces
 * the older ones, services/link-storage.ts), it is stored whatever the user holds.
 */
export function insertLinkedItem(
  sql: SqlStorage,
  item: StoredItem,
  accounts: AccountBase[],
  publicTokenHash: string,
  evenIfDuplicate = false,
): boolean {
  // Stored already, by this link's own earlier attempt (a call that committed, then failed on
  // the way back, or a pending link finished meanwhile): nothing more to write.
  if (sql.exec('SELECT 1 FROM items WHERE item_id = ?', item.item_id).toArray().length > 0) {
    sql.exec('DELETE FROM pending_links WHERE item_id = ?', item.item_id)
    return true
  }
  const inserted = sql.exec(
    `INSERT INTO items (item_id, institution_id, institution_name, status, error_code,
       access_token_sealed, access_token_key_id, created_at, updated_at)
     SELECT ?3, ?1, ?4, ?5, ?6, ?7, ?8, ?9, ?10
     WHERE ?11 OR NOT EXISTS (${DUPLICATE_ITEMS})`,
    item.institution_id,
    identities(accounts),
    item.item_id,
    item.institution_name,
    item.status,
    item.error_code,
    item.access_token_sealed,
    item.access_token_key_id,
    item.created_at,
    item.updated_at,
    evenIfDuplicate ? 1 : 0,
  ).rowsWritten
  if (!inserted) return false
  for (const account of accounts) upsertAccount(sql, item.item_id, account, item.created_at)
  sql.exec('UPDATE public_token_exchanges SET item_id = ? WHERE public_token_hash = ?', item.item_id, publicTokenHash)
  sql.exec('DELETE FROM pending_links WHERE item_id = ?', item.item_id)
  return true
}

export type ItemRefresh = {
  accounts?: AccountBase[]
  status: ItemStatus
  errorCode: string | null
  accountsShared?: boolean
}

/** Replaces the Item's accounts with Plaid's current list and records its status (inside one transactionSync). */
export function saveItemRefresh(sql: SqlStorage, itemId: string, refresh: ItemRefresh, now: string): void {
  sql.exec(
    `UPDATE items SET status = ?1, error_code = ?2, updated_at = ?3,
       new_accounts_available = CASE WHEN ?4 THEN 0 ELSE new_accounts_available END, ${DEADLINES}
     WHERE item_id = ?5`,
    refresh.status,
    refresh.errorCode,
    now,
    refresh.accountsShared ? 1 : 0,
    itemId,
    null,
    null,
  )
  if (!refresh.accounts) return
  for (const account of refresh.accounts) upsertAccount(sql, itemId, account, now)
  // Accounts Plaid no longer reports (closed, or deselected in update mode) go.
  sql.exec(
    'DELETE FROM accounts WHERE item_id = ? AND account_id NOT IN (SELECT value FROM json_each(?))',
    itemId,
    JSON.stringify(refresh.accounts.map((a) => a.account_id)),
  )
}

export type StatusChange = {
  status: ItemStatus | null
  errorCode: string | null
  signedAt: number | null
  /** The deadline a PENDING_EXPIRATION or PENDING_DISCONNECT webhook gives. */
  deadline?: { consentExpirationTime?: string; disconnectTime?: string }
}

/**
 * The deadline columns after the status `?1` is set: a status that no longer warns of a deadline
 * clears them; otherwise a new deadline (`?6`, `?7`) replaces the kept one.
 */
const DEADLINES = `consent_expiration_time = CASE WHEN ?1 NOT IN ('pending_expiration', 'pending_disconnect') THEN NULL
    ELSE COALESCE(?6, consent_expiration_time) END,
  disconnect_time = CASE WHEN ?1 NOT IN ('pending_expiration', 'pending_disconnect') THEN NULL
    ELSE COALESCE(?7, disconnect_time) END`

/**
 * Sets the status a webhook reports, or one the API observed itself in Plaid's answer (`status`
 * null keeps the current one and records only the error code), unless a webhook Plaid signed later
 * has already set it: queue retries deliver webhooks out of order, and the later signature is the
 * newer news. `signedAt` is the webhook's Plaid-Verification iat; null (the API's own observation,
 * or a job queued before it was carried) applies without the check. Answers whether it was applied.
 */
export function setItemStatus(sql: SqlStorage, itemId: string, change: StatusChange, now: string): boolean {
  const { status, errorCode, signedAt, deadline } = change
  return (
    sql.exec(
      `UPDATE items SET status = COALESCE(?1, status), error_code = ?2, updated_at = ?3,
         status_webhook_signed_at = COALESCE(?4, status_webhook_signed_at), ${DEADLINES}
       WHERE item_id = ?5 AND (?4 IS NULL OR status_webhook_signed_at IS NULL OR status_webhook_signed_at <= ?4)`,
      status,
      errorCode,
      now,
      signedAt,
      itemId,
      deadline?.consentExpirationTime ?? null,
      deadline?.disconnectTime ?? null,
    ).rowsWritten > 0
  )
}

/** Deletes one of the Item's accounts and its transactions (inside one transactionSync). */
export function deleteAccount(sql: SqlStorage, itemId: string, accountId: string): void {
  sql.exec('DELETE FROM transactions WHERE item_id = ? AND account_id = ?', itemId, accountId)
  sql.exec('DELETE FROM accounts WHERE item_id = ? AND account_id = ?', itemId, accountId)
}

/** Deletes the Item and everything stored under it (inside one transactionSync). */
export function deleteItem(sql: SqlStorage, itemId: string): void {
  sql.exec('DELETE FROM transactions WHERE item_id = ?', itemId)
  sql.exec('DELETE FROM accounts WHERE item_id = ?', itemId)
  sql.exec('DELETE FROM items WHERE item_id = ?', itemId)
  // A sync cut off mid-way leaves its staging for the Item's next sync to drop; there is none now.
  sql.exec('DELETE FROM sync_staging WHERE sync_id IN (SELECT sync_id FROM sync_runs WHERE item_id = ?)', itemId)
  sql.exec('DELETE FROM sync_runs WHERE item_id = ?', itemId)
}

/**
 * Swaps in a token sealed under the current key, only if the row is still sealed under
 * `fromKeyId`: two re-seals of one row at once leave one valid value, never a mix.
 */
export function replaceSealedToken(
  sql: SqlStorage,
  itemId: string,
  fromKeyId: string,
  sealed: { sealed: string; keyId: string },
): boolean {
  return (
    sql.exec(
      `UPDATE items SET access_token_sealed = ?, access_token_key_id = ?
       WHERE item_id = ? AND access_token_key_id = ?`,
      sealed.sealed,
      sealed.keyId,
      itemId,
      fromKeyId,
    ).rowsWritten > 0
  )
}

export function listAccounts(sql: SqlStorage, itemId?: string): Account[] {
  const rows =
    itemId === undefined
      ? sql.exec<AccountRow>('SELECT * FROM accounts ORDER BY item_id, name, account_id')
      : sql.exec<AccountRow>('SELECT * FROM accounts WHERE item_id = ? ORDER BY name, account_id', itemId)
  return rows.toArray().map((row) => ({
    account_id: row.account_id,
    item_id: row.item_id,
    name: row.name,
    official_name: row.official_name,
    mask: row.mask,
    type: row.type,
    subtype: row.subtype,
    balances: {
      available: row.balance_available,
      current: row.balance_current,
      limit: row.balance_limit,
      iso_currency_code: row.iso_currency_code,
      unofficial_currency_code: row.unofficial_currency_code,
    },
    balances_updated_at: row.balances_updated_at,
  }))
}
