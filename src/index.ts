import { app } from './app'
import { type Bindings, getConfig } from './env'
import { createLogger } from './log'
import { resealOldAccessTokens } from './services/access-token'
import { moveUsersIntoObjects } from './services/storage-move'
import { pruneTokenOwners } from './store/token-owners'
import { consumeDeadLetterBatch } from './webhooks/dead-letter'
import { consumeWebhookBatch } from './webhooks/handle'
import { isDeadLetterQueue, type WebhookJob } from './webhooks/job'

// The runtime finds the Durable Object class among the main module's exports (wrangler.toml).
export { UserStore } from './store/user-store'

export default {
  fetch: app.fetch,
  // One Worker consumes both queues (wrangler.toml); the batch names the one it came from.
  queue: (batch, env, _ctx) =>
    isDeadLetterQueue(batch.queue) ? consumeDeadLetterBatch(batch, env) : consumeWebhookBatch(batch, env),
  // The cron trigger in wrangler.toml: moves users still in the old D1 tables into their objects,
  // finishes a key rotation for Items nobody has used since, and forgets which user exchanged
  // public tokens Plaid no longer accepts.
  async scheduled(controller, env, _ctx) {
    const log = createLogger({ cron: controller.cron })
    const config = getConfig(env)
    // Only when the operator asks: an object made here is placed near the cron, not near its user.
    // Progress of the move is in D1 (README, "Storage"), not in the logs.
    if (env.MOVE_IDLE_USERS === 'true') await moveUsersIntoObjects(config, log)
    await pruneTokenOwners(config.db, new Date())
    const { resealed, failed } = await resealOldAccessTokens(config)
    if (resealed > 0 || failed > 0) {
      log(failed > 0 ? 'error' : 'info', 'access tokens re-sealed under the current key', { resealed, failed })
    }
  },
} satisfies ExportedHandler<Bindings, WebhookJob>
