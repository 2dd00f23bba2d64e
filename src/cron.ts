/**
 * The hourly cron (wrangler.toml [triggers]): the upkeep no request does. Each step runs on its
 * own, so one that fails is logged and the others still run; and inside a step, each user or Item
 * on its own (see each step). Progress shows in the logs (README, "Deploying").
 */
import { type Bindings, getConfig } from './config'
import { createLogger } from './log'
import { PlaidClient } from './plaid/client'
import { resealOldAccessTokens } from './services/access-token'
import { queueFallbackSyncs } from './services/fallback-sync'
import { moveUsersIntoObjects, reconcileLegacyItems } from './services/storage-move'
import { moveWebhooksToConfiguredUrl } from './services/webhook-url-sweep'
import { pruneTokenOwners } from './store/token-owners'

export async function runHourlyCron(controller: ScheduledController, env: Bindings): Promise<void> {
  const log = createLogger({ cron: controller.cron })
  const config = getConfig(env)
  const ctx = { config, plaid: new PlaidClient(config.plaid), log }
  // The time the run was scheduled for: what "a day without a sync" is measured from.
  const now = new Date(controller.scheduledTime)
  const steps: Array<[name: string, run: () => Promise<void>]> = [
    // Only when the operator asks: an object made here is placed near the cron, not near its user.
    // Progress of the move is in D1 (README, "Storage"); each run logs what it did.
    [
      'move idle users',
      async () => (env.MOVE_IDLE_USERS === 'true' ? moveUsersIntoObjects(config, log, now) : undefined),
    ],
    // Items the earlier release linked during its rollout, missed by the index or by the move.
    ['reconcile items of the earlier release', () => reconcileLegacyItems(config, log)],
    // Which user exchanged public tokens Plaid no longer accepts.
    ['prune public-token owners', () => pruneTokenOwners(config.db, new Date())],
    // Finishes a key rotation for Items nobody has used since. Logged at every run while an old key
    // is configured, with what each old key still seals: 0 is when it can be retired.
    [
      're-seal access tokens',
      async () => {
        const report = await resealOldAccessTokens(ctx, now)
        if (!report) return
        const { left, ...counts } = report
        log(counts.failed > 0 ? 'error' : 'info', 'access tokens re-sealed under the current key', counts)
        for (const [keyId, items] of Object.entries(left)) {
          log('info', 'items still sealed under an old key', { key_id: keyId, items_left: items })
        }
      },
    ],
    ['move webhooks to PLAID_WEBHOOK_URL', () => moveWebhooksToConfiguredUrl(ctx, now)],
    ['queue fallback syncs', () => queueFallbackSyncs(ctx, now)],
  ]
  for (const [step, run] of steps) {
    try {
      await run()
    } catch (error) {
      log('error', 'cron step failed; the next run tries again', {
        step,
        error: error instanceof Error ? error.name : 'unknown',
        detail: error instanceof Error ? error.message : undefined,
      })
    }
  }
}
