/**
 * Works off verified Plaid webhooks from the queue. Each job is idempotent (a sync, or setting
 * a status), so Plaid's retries and the queue's redeliveries are harmless; status webhooks are
 * applied in the order Plaid signed them, not the order they arrive in.
 */
import type { ServiceContext } from '../context'
import type { LogFields, Logger } from '../log'
import { isItemGone } from '../plaid/errors'
import { statusForError, statusForWebhook } from '../plaid/item-status'
import { syncItem } from '../services/transactions-sync'
import { findItemOwner } from '../store/item-index'
import { awaitsMove } from '../store/legacy/gate'
import { userStore } from '../store/user-store'
import type { WebhookJob } from './jobs'

/** Does what one verified webhook (or a sync the API queued itself) asks. */
export async function handleWebhookJob(ctx: ServiceContext, job: WebhookJob): Promise<void> {
  const { config, log } = ctx
  const fields = {
    webhook_type: job.webhook_type,
    webhook_code: job.webhook_code,
    item_id: job.item_id,
    // A sync the API queued itself says why (linked, repaired, fallback); absent for Plaid's webhooks.
    reason: job.reason,
  }
  // The D1 index says whose the Item is, and only then is that user's object asked: a webhook for
  // an unknown Item creates no object.
  const owner = job.item_id ? await findItemOwner(config.db, job.item_id) : null
  // A user whose rows are still in the old D1 tables has perhaps no object yet; this job must not
  // create one far from them. Nothing is lost: their first request moves the rows in, the next
  // sync continues from the moved cursor, and a refresh reads the Item's status from Plaid.
  if (owner && (await awaitsMove(config.db, owner))) {
    return log('info', "webhook left for the user's return: their rows are not in their object yet", fields)
  }
  const store = owner ? userStore(config, owner) : null
  const item = job.item_id && owner && store ? await store.getItem(owner, job.item_id) : null
  const now = new Date().toISOString()
  const signedAt = job.signed_at ?? null

  if (job.webhook_type === 'TRANSACTIONS' && job.webhook_code === 'SYNC_UPDATES_AVAILABLE') {
    if (!item) return log('info', 'webhook for an unknown item ignored', fields)
    try {
      const result = await syncItem(ctx, item)
      return log('info', 'webhook sync done', { ...fields, ...result })
    } catch (error) {
      if (!isItemGone(error)) throw error
      // ITEM_NOT_FOUND has made the Item disconnected (recordItemError); the error code is kept
      // for INVALID_ACCESS_TOKEN too, for the app and the operator. No retry can help.
      await store?.setItemStatus(
        item.user_id,
        item.item_id,
        { status: null, errorCode: error.errorCode, signedAt: null },
        now,
      )
      return log('error', 'Plaid no longer knows this item: sync given up, error recorded on the item', {
        ...fields,
        error_code: error.errorCode,
      })
    }
  }
  if (job.webhook_type === 'ITEM') {
    if (job.webhook_code === 'WEBHOOK_UPDATE_ACKNOWLEDGED')
      return log('info', 'webhook URL update acknowledged', fields)
    if (!item) return log('info', 'webhook for an unknown item ignored', fields)
    if (job.webhook_code === 'ERROR') {
      const status = statusForError(job.error_code)
      const applied = await store?.setItemStatus(
        item.user_id,
        item.item_id,
        // An error the user cannot fix leaves the status as it is.
        { status: status === 'good' ? null : status, errorCode: job.error_code, signedAt },
        now,
      )
      if (!applied) return logStale(log, fields, signedAt)
      return log('info', 'item error recorded', { ...fields, error_code: job.error_code })
    }
    if (job.webhook_code === 'USER_ACCOUNT_REVOKED') {
      // Plaid: delete the Plaid-derived data of the revoked account. Update mode can share it again.
      if (!job.account_id) return log('warn', 'account revocation without an account_id ignored', fields)
      await store?.deleteAccount(item.user_id, item.item_id, job.account_id)
      return log('info', 'revoked account deleted with its transactions', fields)
    }
    if (job.webhook_code === 'NEW_ACCOUNTS_AVAILABLE') {
      await store?.setNewAccountsAvailable(item.user_id, item.item_id, true, now)
      return log('info', 'new accounts available recorded', fields)
    }
    const status = statusForWebhook(job.webhook_code)
    if (status) {
      const applied = await store?.setItemStatus(
        item.user_id,
        item.item_id,
        {
          status,
          errorCode: status === 'good' ? null : job.webhook_code,
          signedAt,
          deadline: { consentExpirationTime: job.consent_expiration_time, disconnectTime: job.disconnect_time },
        },
        now,
      )
      if (!applied) return logStale(log, fields, signedAt)
      return log('info', 'item status updated', { ...fields, status })
    }
  }
  log('info', 'webhook acknowledged without action', fields)
}

function logStale(log: Logger, fields: LogFields, signedAt: number | null) {
  log('info', 'status webhook ignored: a webhook signed later already set the status', {
    ...fields,
    signed_at: signedAt,
  })
}
