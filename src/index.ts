import { app } from './app'
import type { Bindings } from './env'
import { consumeDeadLetterBatch } from './webhooks/dead-letter'
import { consumeWebhookBatch } from './webhooks/handle'
import { DEAD_LETTER_QUEUE_NAME, type WebhookJob } from './webhooks/job'

export default {
  fetch: app.fetch,
  // One Worker consumes both queues (wrangler.toml); the batch names the one it came from.
  queue: (batch, env, _ctx) =>
    batch.queue === DEAD_LETTER_QUEUE_NAME ? consumeDeadLetterBatch(batch, env) : consumeWebhookBatch(batch, env),
} satisfies ExportedHandler<Bindings, WebhookJob>
