/**
 * One Durable Object per user (addressed by idFromName(user id)), holding that user's Items,
 * accounts, transactions, public-token claims and sync cursors in its own SQLite storage. The
 * Worker calls Plaid and hands the object plain data; the object never calls Plaid, so a slow
 * bank never holds the object (which runs one call at a time) while other requests of the user wait.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Bindings } from '../env'
import type { AccountBase } from '../plaid/types'
import {
  type AccountIdentity,
  deleteItem,
  findDuplicateItem,
  findItem,
  type ItemRefresh,
  type ItemStatus,
  insertLinkedItem,
  listAccounts,
  listItems,
  listStoredItems,
  replaceSealedToken,
  type StatusChange,
  type StoredItem,
  saveItemRefresh,
  setItemStatus,
  setItemStatusFromWebhook,
  setNewAccountsAvailable,
} from './items'
import { claimPublicToken, releasePublicToken } from './public-token-claims'
import { beginSync, dropSync, finishSync, resetSync, type StagedPage, stagePage } from './sync-staging'
import { listTransactions, type TransactionFilter } from './transactions'
import { migrateUserSchema } from './user-schema'

export class UserStore extends DurableObject<Bindings> {
  /** The user this object belongs to, once known (kept in its storage). */
  private owner: string | undefined

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    // No call reaches the object before its storage is at the current schema version.
    void ctx.blockConcurrencyWhile(async () => {
      migrateUserSchema(ctx.storage)
    })
  }

  /**
   * The object's storage, for calls made on behalf of `userId`. Every call names its user and the
   * object answers only the one it was created for: a caller that computed the wrong address fails
   * loudly instead of reading another user's rows.
   */
  private storageOf(userId: string): SqlStorage {
    const sql = this.ctx.storage.sql
    if (this.owner === undefined) {
      const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'user_id'").toArray()[0]
      if (!row) sql.exec("INSERT INTO meta (key, value) VALUES ('user_id', ?)", userId)
      this.owner = row?.value ?? userId
    }
    if (this.owner !== userId) throw new Error('user store: called for another user than its own')
    return sql
  }

  private write<T>(userId: string, work: (sql: SqlStorage) => T): T {
    const sql = this.storageOf(userId)
    return this.ctx.storage.transactionSync(() => work(sql))
  }

  listItems(userId: string) {
    return listItems(this.storageOf(userId))
  }

  getItem(userId: string, itemId: string): StoredItem | null {
    return findItem(this.storageOf(userId), userId, itemId)
  }

  listStoredItems(userId: string): StoredItem[] {
    return listStoredItems(this.storageOf(userId), userId)
  }

  findDuplicateItem(userId: string, institutionId: string, accounts: AccountIdentity[]) {
    return findDuplicateItem(this.storageOf(userId), institutionId, accounts)
  }

  claimPublicToken(userId: string, hash: string, now: Date) {
    return this.write(userId, (sql) => claimPublicToken(sql, hash, now))
  }

  releasePublicToken(userId: string, hash: string): void {
    releasePublicToken(this.storageOf(userId), hash)
  }

  insertLinkedItem(userId: string, item: StoredItem, accounts: AccountBase[], publicTokenHash: string): boolean {
    return this.write(userId, (sql) => insertLinkedItem(sql, item, accounts, publicTokenHash))
  }

  /** Saves what a refresh read from Plaid; answers the Item as now stored. */
  saveItemRefresh(userId: string, itemId: string, refresh: ItemRefresh, now: string): StoredItem | null {
    return this.write(userId, (sql) => {
      saveItemRefresh(sql, itemId, refresh, now)
      return findItem(sql, userId, itemId)
    })
  }

  setItemStatus(userId: string, itemId: string, status: ItemStatus, errorCode: string | null, now: string): void {
    setItemStatus(this.storageOf(userId), itemId, status, errorCode, now)
  }

  setItemStatusFromWebhook(userId: string, itemId: string, change: StatusChange, now: string): boolean {
    return setItemStatusFromWebhook(this.storageOf(userId), itemId, change, now)
  }

  setNewAccountsAvailable(userId: string, itemId: string, available: boolean, now: string): void {
    setNewAccountsAvailable(this.storageOf(userId), itemId, available, now)
  }

  deleteItem(userId: string, itemId: string): void {
    this.write(userId, (sql) => deleteItem(sql, itemId))
  }

  replaceSealedToken(userId: string, itemId: string, fromKeyId: string, sealed: { sealed: string; keyId: string }) {
    return replaceSealedToken(this.storageOf(userId), itemId, fromKeyId, sealed)
  }

  listAccounts(userId: string, itemId?: string) {
    return listAccounts(this.storageOf(userId), itemId)
  }

  listTransactions(userId: string, filter: TransactionFilter) {
    return listTransactions(this.storageOf(userId), filter)
  }

  beginSync(userId: string, itemId: string) {
    return this.write(userId, (sql) => beginSync(sql, itemId, new Date()))
  }

  stageSyncPage(userId: string, syncId: string, page: StagedPage): void {
    this.write(userId, (sql) => stagePage(sql, syncId, page))
  }

  resetSync(userId: string, syncId: string): void {
    this.write(userId, (sql) => resetSync(sql, syncId))
  }

  dropSync(userId: string, syncId: string): void {
    this.write(userId, (sql) => dropSync(sql, syncId))
  }

  finishSync(userId: string, syncId: string, nextCursor: string, now: string) {
    return this.write(userId, (sql) => finishSync(sql, syncId, nextCursor, now))
  }
}
