/**
 * D1 access for Items and accounts. Every function takes the user id and every query filters
 * by it, so no code path can reach another user's rows. Multi-row writes go through
 * `db.batch`, which D1 runs as one transaction.
 */
import type { AccountBase } from '../plaid/types'

export type ItemStatus = 'good' | 'login_required' | 'pending_expiration' | 'pending_disconnect' | 'permission_revoked'

type ItemFields = {
  item_id: string
  institution_id: string | null
  institution_name: string | null
  status: ItemStatus
  error_code: string | null
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

const ITEM_COLUMNS =
  'item_id, institution_id, institution_name, status, error_code, new_accounts_available, created_at, updated_at'

export async function listItems(db: D1Database, userId: string): Promise<Item[]> {
  const { results } = await db
    .prepare(`SELECT ${ITEM_COLUMNS} FROM items WHERE user_id = ? ORDER BY created_at, item_id`)
    .bind(userId)
    .all<ItemRow>()
  return results.map(publicItem)
}

/**
 * The Item named by a verified Plaid webhook, whoever owns it: the only lookup not scoped by a
 * user, because webhooks carry no user. Its user_id scopes everything that follows.
 */
export function findItemForWebhook(db: D1Database, itemId: string): Promise<StoredItem | null> {
  return db.prepare('SELECT * FROM items WHERE item_id = ?').bind(itemId).first<StoredItem>()
}

export async function listStoredItems(db: D1Database, userId: string): Promise<StoredItem[]> {
  const { results } = await db
    .prepare('SELECT * FROM items WHERE user_id = ? ORDER BY created_at, item_id')
    .bind(userId)
    .all<StoredItem>()
  return results
}

export function findItem(db: D1Database, userId: string, itemId: string): Promise<StoredItem | null> {
  return db.prepare('SELECT * FROM items WHERE user_id = ? AND item_id = ?').bind(userId, itemId).first<StoredItem>()
}

/** An account as Plaid's duplicate-Item rule compares them. */
export type AccountIdentity = { name: string; mask: string | null }

/**
 * The user's Items that share an account (same name and mask) with `accounts` at `institutionId`;
 * with the institution, that is what makes a new Item a duplicate (Plaid's "preventing duplicate
 * Items" guide), while a second login at the same bank with other accounts is not one.
 */
const DUPLICATE_ITEMS = `SELECT i.item_id FROM items i
  WHERE i.user_id = ?1 AND i.institution_id = ?2
    AND EXISTS (SELECT 1 FROM accounts a, json_each(?3) j
      WHERE a.user_id = i.user_id AND a.item_id = i.item_id
        AND a.name = j.value ->> 'name' AND a.mask IS j.value ->> 'mask')`

const identities = (accounts: AccountIdentity[]) => JSON.stringify(accounts.map(({ name, mask }) => ({ name, mask })))

/** The user's Item that a new Item with these accounts at this institution would duplicate, if any. */
export function findDuplicateItem(
  db: D1Database,
  userId: string,
  institutionId: string,
  accounts: AccountIdentity[],
): Promise<{ item_id: string } | null> {
  return db
    .prepare(`${DUPLICATE_ITEMS} ORDER BY i.created_at, i.item_id LIMIT 1`)
    .bind(userId, institutionId, identities(accounts))
    .first<{ item_id: string }>()
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
    created_at,
    updated_at,
  }
}

/** Records (or clears) that the user has accounts at the institution they have not shared yet. */
export async function setNewAccountsAvailable(
  db: D1Database,
  userId: string,
  itemId: string,
  available: boolean,
  now: string,
): Promise<void> {
  await db
    .prepare('UPDATE items SET new_accounts_available = ?, updated_at = ? WHERE user_id = ? AND item_id = ?')
    .bind(available ? 1 : 0, now, userId, itemId)
    .run()
}

/** Stores an account under the user's Item; nothing when that Item is not stored (see insertLinkedItem). */
function upsertAccount(db: D1Database, userId: string, itemId: string, account: AccountBase, now: string) {
  const b = account.balances
  return db
    .prepare(
      `INSERT INTO accounts (account_id, item_id, user_id, name, official_name, mask, type, subtype,
         balance_available, balance_current, balance_limit, iso_currency_code, unofficial_currency_code,
         balances_updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14
       WHERE EXISTS (SELECT 1 FROM items WHERE user_id = ?3 AND item_id = ?2)
       ON CONFLICT (account_id) DO UPDATE SET
         name = excluded.name, official_name = excluded.official_name, mask = excluded.mask,
         type = excluded.type, subtype = excluded.subtype, balance_available = excluded.balance_available,
         balance_current = excluded.balance_current, balance_limit = excluded.balance_limit,
         iso_currency_code = excluded.iso_currency_code,
         unofficial_currency_code = excluded.unofficial_currency_code,
         balances_updated_at = excluded.balances_updated_at
       WHERE accounts.user_id = excluded.user_id AND accounts.item_id = excluded.item_id`,
    )
    .bind(
      account.account_id,
      itemId,
      userId,
      account.name,
      account.official_name,
      account.mask,
      account.type,
      account.subtype,
      b.available,
      b.current,
      b.limit,
      b.iso_currency_code,
      b.unofficial_currency_code,
      b.last_updated_datetime ?? now,
    )
}

/**
 * Stores a newly linked Item, its accounts, and marks its public token as exchanged, all in
 * one transaction: either the whole link is saved or nothing is. Answers false, writing nothing,
 * when the user already has an Item it duplicates; deciding that inside the transaction settles
 * two concurrent links of the same login.
 */
export async function insertLinkedItem(
  db: D1Database,
  item: StoredItem,
  accounts: AccountBase[],
  publicTokenHash: string,
): Promise<boolean> {
  const results = await db.batch([
    db
      .prepare(
        `INSERT INTO items (item_id, user_id, institution_id, institution_name, status, error_code,
           access_token_sealed, access_token_key_id, created_at, updated_at)
         SELECT ?4, ?1, ?2, ?5, ?6, ?7, ?8, ?9, ?10, ?11
         WHERE NOT EXISTS (${DUPLICATE_ITEMS})`,
      )
      .bind(
        item.user_id,
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
      ),
    ...accounts.map((a) => upsertAccount(db, item.user_id, item.item_id, a, item.created_at)),
    db
      .prepare(
        `UPDATE public_token_exchanges SET item_id = ?1 WHERE public_token_hash = ?2 AND user_id = ?3
           AND EXISTS (SELECT 1 FROM items WHERE user_id = ?3 AND item_id = ?1)`,
      )
      .bind(item.item_id, publicTokenHash, item.user_id),
  ])
  return results[0]?.meta.changes === 1
}

/** Replaces the Item's accounts with Plaid's current list and records its status, atomically. */
export async function saveItemRefresh(
  db: D1Database,
  userId: string,
  itemId: string,
  refresh: { accounts?: AccountBase[]; status: ItemStatus; errorCode: string | null; accountsShared?: boolean },
  now: string,
): Promise<void> {
  const statements = [
    db
      .prepare(
        `UPDATE items SET status = ?, error_code = ?, updated_at = ?,
           new_accounts_available = CASE WHEN ? THEN 0 ELSE new_accounts_available END
         WHERE user_id = ? AND item_id = ?`,
      )
      .bind(refresh.status, refresh.errorCode, now, refresh.accountsShared ? 1 : 0, userId, itemId),
  ]
  if (refresh.accounts) {
    const ids = refresh.accounts.map((a) => a.account_id)
    statements.push(
      ...refresh.accounts.map((a) => upsertAccount(db, userId, itemId, a, now)),
      // Accounts Plaid no longer reports (closed, or deselected in update mode) go.
      db
        .prepare(
          `DELETE FROM accounts WHERE user_id = ? AND item_id = ?
             AND account_id NOT IN (SELECT value FROM json_each(?))`,
        )
        .bind(userId, itemId, JSON.stringify(ids)),
    )
  }
  await db.batch(statements)
}

export async function setItemStatus(
  db: D1Database,
  userId: string,
  itemId: string,
  status: ItemStatus,
  errorCode: string | null,
  now: string,
): Promise<void> {
  await db
    .prepare('UPDATE items SET status = ?, error_code = ?, updated_at = ? WHERE user_id = ? AND item_id = ?')
    .bind(status, errorCode, now, userId, itemId)
    .run()
}

/**
 * Sets the status a webhook reports (`status` null keeps the current one and records only the
 * error code), unless a webhook Plaid signed later has already set it: queue retries deliver
 * webhooks out of order, and the later signature is the newer news. `signedAt` is the webhook's
 * Plaid-Verification iat; null (a job queued before it was carried) applies without the check.
 * Answers whether the status was applied.
 */
export async function setItemStatusFromWebhook(
  db: D1Database,
  userId: string,
  itemId: string,
  change: { status: ItemStatus | null; errorCode: string | null; signedAt: number | null },
  now: string,
): Promise<boolean> {
  const { status, errorCode, signedAt } = change
  const result = await db
    .prepare(
      `UPDATE items SET status = COALESCE(?, status), error_code = ?, updated_at = ?,
         status_webhook_signed_at = COALESCE(?, status_webhook_signed_at)
       WHERE user_id = ? AND item_id = ?
         AND (? IS NULL OR status_webhook_signed_at IS NULL OR status_webhook_signed_at <= ?)`,
    )
    .bind(status, errorCode, now, signedAt, userId, itemId, signedAt, signedAt)
    .run()
  return result.meta.changes === 1
}

/** Deletes the Item and everything stored under it, atomically. */
export async function deleteItem(db: D1Database, userId: string, itemId: string): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM transactions WHERE user_id = ? AND item_id = ?').bind(userId, itemId),
    db.prepare('DELETE FROM accounts WHERE user_id = ? AND item_id = ?').bind(userId, itemId),
    db.prepare('DELETE FROM items WHERE user_id = ? AND item_id = ?').bind(userId, itemId),
  ])
}

export async function listAccounts(db: D1Database, userId: string, itemId?: string): Promise<Account[]> {
  const query =
    itemId === undefined
      ? db.prepare('SELECT * FROM accounts WHERE user_id = ? ORDER BY item_id, name, account_id').bind(userId)
      : db
          .prepare('SELECT * FROM accounts WHERE user_id = ? AND item_id = ? ORDER BY name, account_id')
          .bind(userId, itemId)
  const { results } = await query.all<AccountRow>()
  return results.map((row) => ({
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
