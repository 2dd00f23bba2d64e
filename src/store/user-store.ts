/**
 * One Durable Object per user (addressed by idFromName(user id)), holding that user's Items,
 * accounts, transactions, public-token claims and sync cursors in its own SQLite storage. The
 * Worker calls Plaid and hands the object plain data; the object never calls Plaid, so a slow
 * bank never holds the object (which runs one call at a time) while other requests of the user wait.
 */
import { DurableObject } from 'cloudflare:workers'
import { type Bindings, getConfig } from '../config'
import type { AccountBase } from '../plaid/types'
import type { FinishPendingLinksJob, QueueJob } from '../webhooks/job'
import { claimBalanceRefresh } from './balance-refresh-claims'
import {
  type AccountIdentity,
  deleteAccount,
  deleteItem,
  findDuplicateItem,
  findDuplicateItems,
  findItem,
  type ItemRefresh,
  insertLinkedItem,
  listAccounts,
  listItems,
  listStoredItems,
  replaceSealedToken,
  type StatusChange,
  type StoredItem,
  saveItemRefresh,
  setItemStatusFromWebhook,
  setNewAccountsAvailable,
} from './items'
import {
  DEFAULT_MOVE_SLICE,
  IMPORTED,
  type LegacyItemOutcome,
  MoveInProgressError,
  type MoveSlice,
  moveSlice,
  reconcileLegacyItem,
  recordMove,
} from './legacy-import'
import {
  dropPendingLink,
  findPendingLink,
  hasPendingLinks,
  PENDING_LINK_GRACE_MS,
  type PendingLink,
  pendingLinksBefore,
  recordPendingLink,
} from './pending-links'
import { claimPublicToken, releasePublicToken } from './public-token-claims'
import {
  abandonSync,
  applyPart,
  beginApply,
  beginSync,
  DEFAULT_APPLY_ROWS,
  resetSync,
  type StagedPage,
  type SyncOutcome,
  stagePage,
} from './sync-staging'
import { listTransactions, type TransactionFilter } from './transactions'
import { migrateUserSchema } from './user-schema'

export class UserStore extends DurableObject<Bindings> {
  /** The user this object belongs to, once known (kept in its storage). */
  private owner: string | undefined
  /** How much of the move into the object one call does (tests make it small). */
  moveSlice: MoveSlice = DEFAULT_MOVE_SLICE
  /** Staged rows one call of a sync's apply writes at most (tests make it small). */
  applyRows = DEFAULT_APPLY_ROWS

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
   * loudly instead of reading another user's rows. Until its user's rows are moved in from the D1
   * tables of earlier releases (legacy-import.ts), each call first copies the next slice of them,
   * with every other call held meanwhile, and fails with MoveInProgressError (503, Retry-After)
   * if rows are left after it.
   */
  private async storageOf(userId: string): Promise<SqlStorage> {
    const sql = this.ownStorage(userId)
    if (!sql.exec(IMPORTED).toArray()[0] && !(await this.moveNextSlice(userId))) throw new MoveInProgressError()
    return sql
  }

  private ownStorage(userId: string): SqlStorage {
    const sql = this.ctx.storage.sql
    if (this.owner === undefined) {
      const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'user_id'").toArray()[0]
      if (!row) sql.exec("INSERT INTO meta VALUES ('user_id', ?)", userId)
      this.owner = row?.value ?? userId
    }
    if (this.owner !== userId) throw new Error('called for another user')
    return sql
  }

  /** One slice of the move, alone in the object; true once the move is over. */
  private moveNextSlice(userId: string): Promise<boolean> {
    // The Worker checked its bindings before it called (env.ts); the object shares them.
    return this.ctx.blockConcurrencyWhile(() =>
      moveSlice(this.env.DB as D1Database, this.ctx.storage, userId, this.moveSlice),
    )
  }

  private async write<T>(userId: string, work: (sql: SqlStorage) => T): Promise<T> {
    const sql = await this.storageOf(userId)
    return this.ctx.storage.transactionSync(() => work(sql))
  }

  async listItems(userId: string) {
    return listItems(await this.storageOf(userId))
  }

  async getItem(userId: string, itemId: string): Promise<StoredItem | null> {
    return findItem(await this.storageOf(userId), userId, itemId)
  }

  async listStoredItems(userId: string): Promise<StoredItem[]> {
    return listStoredItems(await this.storageOf(userId), userId)
  }

  async findDuplicateItem(userId: string, institutionId: string, accounts: AccountIdentity[]) {
    return findDuplicateItem(await this.storageOf(userId), institutionId, accounts)
  }

  async claimPublicToken(userId: string, hash: string, now: Date) {
    return this.write(userId, (sql) => claimPublicToken(sql, hash, now))
  }

  async releasePublicToken(userId: string, hash: string): Promise<void> {
    releasePublicToken(await this.storageOf(userId), hash)
  }

  async insertLinkedItem(
    userId: string,
    item: StoredItem,
    accounts: AccountBase[],
    publicTokenHash: string,
    evenIfDuplicate = false,
  ): Promise<boolean> {
    return this.write(userId, (sql) => insertLinkedItem(sql, item, accounts, publicTokenHash, evenIfDuplicate))
  }

  async findDuplicateItems(userId: string, institutionId: string, accounts: AccountIdentity[], newItemId: string) {
    return findDuplicateItems(await this.storageOf(userId), institutionId, accounts, newItemId)
  }

  /**
   * Records a link Plaid has just exchanged (pending-links.ts), and makes sure the object wakes up
   * once its grace period is over, to have it finished if the request that made it died.
   */
  async recordPendingLink(userId: string, link: PendingLink): Promise<void> {
    await this.write(userId, (sql) => recordPendingLink(sql, link))
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.parse(link.created_at) + this.pendingLinkGraceMs())
    }
  }

  async dropPendingLink(userId: string, itemId: string, releaseClaim = false): Promise<void> {
    await this.write(userId, (sql) => dropPendingLink(sql, itemId, releaseClaim))
  }

  async listPendingLinks(userId: string): Promise<PendingLink[]> {
    return pendingLinksBefore(await this.storageOf(userId))
  }

  async findPendingLink(userId: string, itemId: string): Promise<PendingLink | null> {
    return findPendingLink(await this.storageOf(userId), itemId)
  }

  /**
   * For the background job that finishes them: the pending links recorded before `cutoff`, and
   * whose they are. The job knows the object only by its id (it carries no user id).
   */
  async stalePendingLinks(cutoff: string): Promise<{ userId: string | null; links: PendingLink[] }> {
    const sql = this.ctx.storage.sql
    const owner = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'user_id'").toArray()[0]?.value
    if (!owner) return { userId: null, links: [] }
    return { userId: owner, links: pendingLinksBefore(await this.storageOf(owner), cutoff) }
  }

  /**
   * PENDING_LINK_GRACE_SECONDS, read from the object's own env. With a bad setting the Worker
   * answers 500 naming it, while an alarm here must still come: then the default.
   */
  private pendingLinkGraceMs(): number {
    try {
      return getConfig(this.env).pendingLinkGraceMs
    } catch {
      return PENDING_LINK_GRACE_MS
    }
  }

  /**
   * Wakes while pending links remain: queues the job that finishes those past their grace period
   * (the object itself never calls Plaid), and wakes again later in case that job fails too.
   */
  override async alarm(): Promise<void> {
    if (!hasPendingLinks(this.ctx.storage.sql)) return
    const job: FinishPendingLinksJob = { job: 'finish_pending_links', object_id: this.ctx.id.toString() }
    await (this.env.WEBHOOK_QUEUE as Queue<QueueJob>).send(job)
    await this.ctx.storage.setAlarm(Date.now() + this.pendingLinkGraceMs())
  }

  /** Saves what a refresh read from Plaid; answers the Item as now stored. */
  async saveItemRefresh(userId: string, itemId: string, refresh: ItemRefresh, now: string): Promise<StoredItem | null> {
    return this.write(userId, (sql) => {
      saveItemRefresh(sql, itemId, refresh, now)
      return findItem(sql, userId, itemId)
    })
  }

  /** Takes the Item's next live balance check (the per-Item cooldown), or says when one is allowed. */
  async claimBalanceRefresh(userId: string, itemId: string, now: Date) {
    return claimBalanceRefresh(await this.storageOf(userId), itemId, now)
  }

  async setItemStatusFromWebhook(userId: string, itemId: string, change: StatusChange, now: string): Promise<boolean> {
    return setItemStatusFromWebhook(await this.storageOf(userId), itemId, change, now)
  }

  async setNewAccountsAvailable(userId: string, itemId: string, available: boolean, now: string): Promise<void> {
    setNewAccountsAvailable(await this.storageOf(userId), itemId, available, now)
  }

  async deleteAccount(userId: string, itemId: string, accountId: string): Promise<void> {
    await this.write(userId, (sql) => deleteAccount(sql, itemId, accountId))
  }

  async deleteItem(userId: string, itemId: string): Promise<void> {
    await this.write(userId, (sql) => deleteItem(sql, itemId))
  }

  async replaceSealedToken(
    userId: string,
    itemId: string,
    fromKeyId: string,
    sealed: { sealed: string; keyId: string },
  ) {
    return replaceSealedToken(await this.storageOf(userId), itemId, fromKeyId, sealed)
  }

  async listAccounts(userId: string, itemId?: string) {
    return listAccounts(await this.storageOf(userId), itemId)
  }

  async listTransactions(userId: string, filter: TransactionFilter) {
    return listTransactions(await this.storageOf(userId), filter)
  }

  async beginSync(userId: string, itemId: string) {
    return this.write(userId, (sql) => beginSync(sql, itemId, new Date()))
  }

  async stageSyncPage(userId: string, syncId: string, page: StagedPage): Promise<void> {
    await this.write(userId, (sql) => stagePage(sql, syncId, page))
  }

  async resetSync(userId: string, syncId: string): Promise<void> {
    await this.write(userId, (sql) => resetSync(sql, syncId))
  }

  async dropSync(userId: string, syncId: string): Promise<void> {
    await this.write(userId, (sql) => abandonSync(sql, syncId))
  }

  /**
   * Begins the apply of a run whose pages are all staged, and applies its first part; the caller
   * calls applySyncPart while the answer is `applying`.
   */
  async finishSync(userId: string, syncId: string, nextCursor: string, now: string): Promise<SyncOutcome> {
    const sql = await this.storageOf(userId)
    // Written apart from the part: once begun, the apply is finished later even if this part fails.
    if (!this.ctx.storage.transactionSync(() => beginApply(sql, syncId, nextCursor))) return { status: 'lost' }
    return this.ctx.storage.transactionSync(() => applyPart(sql, syncId, now, this.applyRows))
  }

  /**
   * The next part of an applying run's apply: a call of its own, so that each part has a request's
   * CPU time and one write of bounded size, whatever the size of the history.
   */
  async applySyncPart(userId: string, syncId: string, now: string): Promise<SyncOutcome> {
    return this.write(userId, (sql) => applyPart(sql, syncId, now, this.applyRows))
  }

  /**
   * Wipes the object's storage (the user deleted their data). This instance then lays the schema
   * down again and forgets its owner, so a later call (the same user back) finds an empty object.
   */
  async deleteAll(userId: string): Promise<void> {
    await this.storageOf(userId)
    await this.ctx.storage.deleteAll()
    this.owner = undefined
    migrateUserSchema(this.ctx.storage)
  }

  /**
   * The cron's sweep: copies the next slice of the user's rows from D1, and once they are all here
   * records the move (again: objects marked by an earlier release may lack the record). Answers
   * whether the move is over.
   */
  async moveIn(userId: string): Promise<boolean> {
    this.ownStorage(userId)
    if (!(await this.moveNextSlice(userId))) return false
    await recordMove(this.env.DB as D1Database, userId)
    return true
  }

  /** The cron's reconciliation of one Item of the old tables with this (moved) object. */
  async reconcileLegacyItem(userId: string, itemId: string, copyIfMissing: boolean): Promise<LegacyItemOutcome> {
    await this.storageOf(userId)
    return this.ctx.blockConcurrencyWhile(() =>
      reconcileLegacyItem(this.env.DB as D1Database, this.ctx.storage, userId, itemId, copyIfMissing),
    )
  }
}
