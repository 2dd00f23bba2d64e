import { app } from './app'
import { type Bindings, getConfig } from './env'
import { createLogger } from './log'
import { resealOldAccessTokens } from './services/access-token'
import { consumeDeadLetterBatch } from './webhooks/dead-letter'
import { consumeWebhookBatch } from './webhooks/handle'
import { isDeadLetterQueue, type WebhookJob } from './webhooks/job'

export default {
  fetch: app.fetch,
  // One Worker consumes both queues (wrangler.toml); the batch names the one it came from.
  queue: (batch, env, _ctx) =>
    isDeadLetterQueue(batch.queue) ? consumeDeadLetterBatch(batch, env) : consumeWebhookBatch(batch, env),
  // The cron trigger in wrangler.toml: finishes a key rotation for Items nobody has used since.
  async scheduled(controller, env, _ctx) {
    const log = createLogger({ cron: controller.cron })
    const { resealed, failed } = await resealOldAccessTokens(getConfig(env))
    if (resealed > 0 || failed > 0) {
      log(failed > 0 ? 'error' : 'info', 'access tokens re-sealed under the current key', { resealed, failed })
    }
  },
} satisfies ExportedHandler<Bindings, WebhookJob>
