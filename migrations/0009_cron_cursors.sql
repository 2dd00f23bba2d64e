-- Where the hourly cron's sweeps stopped (src/store/cron-cursors.ts; README, "The hourly cron"): one
-- row per step, whose next run starts after `position` (a user id or an Item id), so that rows it
-- can only skip or fail (a user whose move keeps failing, a damaged token) never fill every run.
CREATE TABLE cron_cursors (
  step TEXT PRIMARY KEY,
  position TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
