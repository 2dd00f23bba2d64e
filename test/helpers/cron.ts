/**
 * The hourly cron through its front door (`worker.scheduled`), at a time the test chooses: the
 * cron measures "a day without a sync" and "tried a day ago" from its scheduled time, so a test
 * moves the clock by scheduling the run later instead of waiting.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env as baseEnv } from 'cloudflare:workers'
import worker from '../../src/index'
import type { TestEnv } from './env'

export const HOUR_MS = 3600_000

export async function runCron(env: TestEnv, at: Date = new Date()): Promise<void> {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: at }), env, ctx)
  await waitOnExecutionContext(ctx)
}

/** `hours` from now, as a cron run's scheduled time. */
export const hoursFromNow = (hours: number) => new Date(Date.now() + hours * HOUR_MS)

/**
 * Empties the D1 index, which the tests of one file share: the cron works on every indexed Item,
 * so a test that counts what it did starts with only its own Items indexed. (Objects of earlier
 * tests stay; no background job reaches an object the index does not name.)
 */
export async function forgetIndexedItems(): Promise<void> {
  await (baseEnv.DB as D1Database).prepare('DELETE FROM item_index').run()
}
