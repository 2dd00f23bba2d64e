-- Queue retries deliver webhooks out of order: an ITEM/ERROR retried after a transient failure can
-- land after the LOGIN_REPAIRED that Plaid sent later. The Item keeps when Plaid signed (the
-- Plaid-Verification iat, Unix seconds) the webhook that last set its status, and a status webhook
-- signed earlier than that is ignored.
ALTER TABLE items ADD COLUMN status_webhook_signed_at INTEGER;

-- Webhook jobs the queue gave up on, so none is lost silently: written when a job has used all its
-- retries, and by the consumer of the dead-letter queue plaid-webhooks-dlq. No foreign key: the
-- record outlives the Item it names. An operator reads, replays and then deletes rows (README,
-- "Webhooks and transactions").
CREATE TABLE dead_webhook_jobs (
  -- The queue message id; a redelivered message is recorded once.
  message_id TEXT PRIMARY KEY,
  item_id TEXT,
  webhook_type TEXT NOT NULL,
  webhook_code TEXT NOT NULL,
  -- For ITEM/ERROR: the error_code Plaid sent in the webhook.
  webhook_error_code TEXT,
  -- The last failure (error class, Plaid error_code or HTTP status), when known.
  error TEXT,
  attempts INTEGER,
  -- The webhook request that queued the job: its log lines carry this request_id.
  request_id TEXT,
  signed_at INTEGER,
  received_at TEXT,
  dead_at TEXT NOT NULL
);
CREATE INDEX dead_webhook_jobs_by_time ON dead_webhook_jobs (dead_at);
