import { app } from './app'
import type { Bindings } from './config'
import { runHourlyCron } from './cron'
import { consumeDeadLetterBatch } from './webhooks/dead-letter'
import { consumeWebhookBatch } from './webhooks/handle'
import { isDeadLetterQueue, type QueueJob } from './webhooks/job'

// The runtime finds the Durable Object class among the main module's exports (wrangler.toml).
export { UserStore } from './store/user-store'

export default {
  fetch: app.fetch,
  // One Worker consumes both queues (wrangler.toml); the batch names the one it came from.
  queue: (batch, env, _ctx) =>
    isDeadLetterQueue(batch.queue) ? consumeDeadLetterBatch(batch, env) : consumeWebhookBatch(batch, env),
  // The hourly cron trigger in wrangler.toml (src/cron.ts).
  scheduled: (controller, env, _ctx) => runHourlyCron(controller, env),
} satisfies ExportedHandler<Bindings, QueueJob>
