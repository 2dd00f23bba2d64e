import { beforeEach, describe, expect, it } from 'vitest'
import { WEBHOOK_UPDATES_PER_RUN } from '../../src/services/webhook-url-sweep'
import { deliverAndConsume, WEBHOOK_URL } from '../helpers/api'
import { forgetIndexedItems, hoursFromNow, runCron } from '../helpers/cron'
import { emulator } from '../helpers/emulator'
import { type TestEnv, testEnv } from '../helpers/env'
import { linkItemBeforeFirstSync, linkItemThroughLink, linkManyBeforeFirstSync, newUser } from '../helpers/linking'
import { captureLogs, logRecords } from '../helpers/logs'
import { poisonedUserStore } from '../helpers/user-store'

/** Where webhooks go after the API moved to another host. */
const NEW_URL = 'https://new-host.example.com/api/v1/banking/webhooks'

const updateCalls = async (env: TestEnv) => (await emulator.calls(env))['/item/webhook/update'] ?? 0

/** Each Item's webhook URL at Plaid. */
const webhooksAtPlaid = async (env: TestEnv) =>
  Object.fromEntries((await emulator.items(env)).map((item) => [item.item_id, item.webhook]))

/** Links `count` Items, one user each, whose webhooks go to WEBHOOK_URL (the Sandbox public token's). */
const itemsAtOldUrl = (env: TestEnv, count: number) => linkManyBeforeFirstSync(env, count)

beforeEach(forgetIndexedItems)

describe('the hourly cron keeps every Item’s webhooks going to PLAID_WEBHOOK_URL', () => {
  it('gives Items linked before PLAID_WEBHOOK_URL was set the URL at the next run, leaves those that have it alone, and logs Plaid’s acknowledgement', async () => {
    const unset = testEnv()
    const env = { ...unset, PLAID_WEBHOOK_URL: WEBHOOK_URL }
    const user = await newUser()
    const before = await linkItemThroughLink(unset, user, 'ins_109508')
    const after = await linkItemThroughLink(env, user, 'ins_109509')
    expect(await webhooksAtPlaid(env)).toEqual({ [before]: null, [after]: WEBHOOK_URL })

    await runCron(env)
    expect(await webhooksAtPlaid(env)).toEqual({ [before]: WEBHOOK_URL, [after]: WEBHOOK_URL })
    // Only the Item without the URL cost a Plaid call.
    expect(await updateCalls(env)).toBe(1)

    // Plaid confirms at the new URL, this API's webhook route, and the queue consumer logs it.
    const sent = await emulator.webhooks(env)
    expect(sent.map((d) => [d.url, JSON.parse(d.body)])).toEqual([
      [WEBHOOK_URL, expect.objectContaining({ webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED', item_id: before })],
    ])
    const { logs } = await captureLogs(() => deliverAndConsume(env, sent[0] as (typeof sent)[0]))
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({
        message: 'webhook URL update acknowledged',
        webhook_type: 'ITEM',
        webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED',
        item_id: before,
      }),
    )

    // Done for good: later runs call Plaid for neither.
    await runCron(env, hoursFromNow(1))
    await runCron(env, hoursFromNow(25))
    expect(await updateCalls(env)).toBe(1)
  })

  it('leaves Items alone while PLAID_WEBHOOK_URL is unset', async () => {
    const env = testEnv()
    const [itemId] = await itemsAtOldUrl(env, 1)
    const { logs } = await captureLogs(() => runCron(env))
    expect(logRecords(logs).filter((line) => line.level === 'error')).toEqual([])
    expect(await updateCalls(env)).toBe(0)
    expect(await webhooksAtPlaid(env)).toEqual({ [itemId as string]: WEBHOOK_URL })
  })

  it(`moves at most ${WEBHOOK_UPDATES_PER_RUN} Items a run when PLAID_WEBHOOK_URL changes, resumes with the rest at the next run, and never calls Plaid again for an Item moved`, async () => {
    const env = testEnv({ PLAID_WEBHOOK_URL: NEW_URL })
    const items = await itemsAtOldUrl(env, WEBHOOK_UPDATES_PER_RUN + 1)

    const { logs } = await captureLogs(() => runCron(env))
    expect(await updateCalls(env)).toBe(WEBHOOK_UPDATES_PER_RUN)
    const moved = Object.values(await webhooksAtPlaid(env))
    expect(moved.filter((url) => url === NEW_URL)).toHaveLength(WEBHOOK_UPDATES_PER_RUN)
    expect(logRecords(logs)).toContainEqual(
      expect.objectContaining({
        message: 'item webhook URLs moved to PLAID_WEBHOOK_URL',
        moved: WEBHOOK_UPDATES_PER_RUN,
        failed: 0,
        more_left: true,
      }),
    )

    await runCron(env, hoursFromNow(1))
    expect(await updateCalls(env)).toBe(items.length)
    expect(new Set(Object.values(await webhooksAtPlaid(env)))).toEqual(new Set([NEW_URL]))

    await runCron(env, hoursFromNow(2))
    expect(await updateCalls(env)).toBe(items.length)
    // Linking fifty Items takes seconds on a busy machine.
  }, 60_000)

  it('steps around an Item Plaid no longer knows and a user whose object fails, moves the others, and tries those two again a day later', async () => {
    const healthyEnv = testEnv({ PLAID_WEBHOOK_URL: NEW_URL })
    const [healthy, gone] = (await itemsAtOldUrl(healthyEnv, 2)) as [string, string]
    const poisonedUser = await newUser()
    const poisoned = await linkItemBeforeFirstSync(healthyEnv, poisonedUser)
    await emulator.removeAtPlaid(healthyEnv, gone)
    const env = { ...healthyEnv, USER_STORE: poisonedUserStore(poisonedUser.id) }

    const { logs } = await captureLogs(() => runCron(env))
    expect(await webhooksAtPlaid(env)).toMatchObject({ [healthy]: NEW_URL, [poisoned]: WEBHOOK_URL })
    const lines = logRecords(logs)
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'item webhook URL not updated; tried again in a day',
        item_id: gone,
        error_code: 'ITEM_NOT_FOUND',
      }),
    )
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'item webhook URL not updated; tried again in a day', item_id: poisoned }),
    )
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'item webhook URLs moved to PLAID_WEBHOOK_URL', moved: 1, failed: 2 }),
    )
    expect(await updateCalls(env)).toBe(2)

    // Not again within the day...
    await runCron(env, hoursFromNow(23))
    expect(await updateCalls(env)).toBe(2)
    // ...then again: the object works by now, and Plaid still does not know the removed Item.
    await runCron(healthyEnv, hoursFromNow(25))
    expect(await updateCalls(env)).toBe(4)
    expect(await webhooksAtPlaid(env)).toMatchObject({ [healthy]: NEW_URL, [poisoned]: NEW_URL })
  })
})
