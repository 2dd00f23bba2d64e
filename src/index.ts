import { app } from './app'
import type { Bindings } from './env'
import { consumeWebhookBatch } from './webhooks/handle'
import type { WebhookJob } from './webhooks/job'

export default {
  fetch: app.fetch,
  queue: (batch, env, _ctx) => consumeWebhookBatch(batch, env),
} satisfies ExportedHandler<Bindings, WebhookJob>
