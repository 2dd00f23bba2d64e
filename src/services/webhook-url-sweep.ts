/**
 * Keeps every Item's webhooks going to PLAID_WEBHOOK_URL (the hourly cron). Link tokens carry the
 * setting, so new Items get it; Items linked before it was set, or under an earlier value (the
 * host moved), are moved with /item/webhook/update, and Plaid confirms each move with
 * WEBHOOK_UPDATE_ACKNOWLEDGED, sent to the new URL (the queue consumer logs it).
 *
 * How the cron knows an Item's URL differs: the D1 index records the URL Plaid reported for the
 * Item when it was linked (in the /accounts/get answer the exchange reads anyway) and after each
 * update here. Comparing that with the setting is one D1 query a run; asking Plaid instead
 * (/item/get's item.webhook) would cost, every hour and for every Item, a Plaid call plus a call to
 * the user's object for the access token. The record stays true because an Item's webhook changes
 * only when this API asks (update mode cannot change it).
 */
import type { ServiceContext } from '../context'
import { PlaidApiError } from '../plaid/errors'
import { listItemsWithOtherWebhook, recordWebhookTry, type UpkeepEntry } from '../store/item-upkeep'
import { awaitsMove } from '../store/legacy/gate'
import { userStore } from '../store/user-store'
import { openAccessToken } from './access-token'

/**
 * Items moved per run: one Plaid call each, one after the other, and within the 50 calls to other
 * hosts a Workers Free invocation may make. A thousand Items move in a day.
 */
export const WEBHOOK_UPDATES_PER_RUN = 50

/** Moves up to WEBHOOK_UPDATES_PER_RUN Items to PLAID_WEBHOOK_URL; each Item on its own, so one failing holds up no other. */
export async function moveWebhooksToConfiguredUrl(ctx: ServiceContext, now: Date): Promise<void> {
  const { config, log } = ctx
  const url = config.plaid.webhookUrl
  // Unset, Items keep the URL they have: an unset setting is no reason to silence their webhooks.
  if (!url) return
  const due = await listItemsWithOtherWebhook(config.db, url, now, WEBHOOK_UPDATES_PER_RUN)
  const counts = { moved: 0, skipped: 0, failed: 0 }
  for (const entry of due) {
    try {
      counts[await moveWebhook(ctx, entry, url, now)]++
    } catch (error) {
      counts.failed++
      log('error', 'item webhook URL not updated; tried again in a day', {
        item_id: entry.item_id,
        error: error instanceof Error ? error.name : 'unknown',
        error_code: error instanceof PlaidApiError ? error.errorCode : undefined,
      })
      // Lost, this write only brings the retry forward to the next run.
      await recordWebhookTry(config.db, entry.item_id, now).catch(() => {})
    }
  }
  if (due.length > 0) {
    log('info', 'item webhook URLs moved to PLAID_WEBHOOK_URL', {
      ...counts,
      more_left: due.length === WEBHOOK_UPDATES_PER_RUN,
    })
  }
}

async function moveWebhook(
  { config, plaid }: ServiceContext,
  entry: UpkeepEntry,
  url: string,
  now: Date,
): Promise<'moved' | 'skipped'> {
  const skip = async () => {
    await recordWebhookTry(config.db, entry.item_id, now)
    return 'skipped' as const
  }
  // The user's rows are not in their object yet, and the cron must not create it far from them.
  if (await awaitsMove(config.db, entry.user_id)) return skip()
  const item = await userStore(config, entry.user_id).getItem(entry.user_id, entry.item_id)
  // Indexed but not stored: an exchange under way (or one that failed); there is no token to use.
  if (!item) return skip()
  const updated = await plaid.updateItemWebhook(await openAccessToken(config, item), url)
  await recordWebhookTry(config.db, entry.item_id, now, updated.item.webhook)
  return 'moved'
}
