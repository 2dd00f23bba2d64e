-- What the hourly cron needs to keep every Item healthy without waking each user's object
-- (src/store/item-upkeep.ts; README, "Storage"). Times are Unix seconds.

-- The webhook URL Plaid has for the Item, as this API last saw it: from /accounts/get when the
-- Item was linked, then from the cron's /item/webhook/update. NULL: none, or not known (Items
-- indexed before this migration). The cron moves every Item whose URL is not PLAID_WEBHOOK_URL.
ALTER TABLE item_index ADD COLUMN webhook_url TEXT;
-- When the cron last called /item/webhook/update for the Item: one that failed waits a day.
ALTER TABLE item_index ADD COLUMN webhook_tried_at INTEGER;

-- When the Item's last sync finished (its transactions and cursor brought up to date). NULL: none
-- since this migration.
ALTER TABLE item_index ADD COLUMN synced_at INTEGER;
-- When the cron queues a sync of the Item (a webhook lost beyond Plaid's retries, a dropped queue
-- message): a day after its last sync finished or the cron last queued one. 0 (Items indexed before
-- this migration): at the next run.
ALTER TABLE item_index ADD COLUMN sync_due_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX item_index_by_sync_due ON item_index (sync_due_at);
