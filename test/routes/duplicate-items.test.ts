import { describe, expect, it } from 'vitest'
import { itemIdsOf } from '../helpers/api'
import { emulator } from '../helpers/emulator'
import { testEnv } from '../helpers/env'
import { onSuccessMetadata, SANDBOX_DEFAULT_ACCOUNTS } from '../helpers/link-metadata'
import { exchange, itemIdOf, linkItem, newUser } from '../helpers/linking'
import { captureLogs, logRecords } from '../helpers/logs'

const PLATYPUS = { institution_id: 'ins_109508', name: 'First Platypus Bank' }
const DUPLICATE_DETAIL = 'this login is already linked: an Item at this institution has the same accounts'
const BUSINESS = [{ name: 'Business Checking', mask: '9000' }]

describe("exchange-token with Link's onSuccess metadata", () => {
  it('accepts the metadata object as onSuccess hands it over, and logs its link_session_id', async () => {
    const env = testEnv()
    const user = await newUser()
    const publicToken = await emulator.publicToken(env)
    const metadata = onSuccessMetadata(PLATYPUS, SANDBOX_DEFAULT_ACCOUNTS, 'link-session-support-42')
    const { result: res, logs } = await captureLogs(() => exchange(env, user, publicToken, { metadata }))
    expect(res.status).toBe(201)
    expect(res.body.item).toMatchObject({ institution_id: 'ins_109508', institution_name: 'First Platypus Bank' })
    const linked = logRecords(logs).find((line) => line.message === 'item linked')
    expect(linked).toMatchObject({ link_session_id: 'link-session-support-42', item_id: itemIdOf(res) })
  })

  it('puts the link_session_id on the line of a failed exchange too', async () => {
    const env = testEnv()
    const user = await newUser()
    await emulator.fault(env, { endpoint: '/item/public_token/exchange', kind: 'plaid_error' })
    const metadata = onSuccessMetadata(PLATYPUS, SANDBOX_DEFAULT_ACCOUNTS, 'link-session-failed-7')
    const { result: res, logs } = await captureLogs(async () =>
      exchange(env, user, await emulator.publicToken(env), { metadata }),
    )
    expect(res.status).toBe(400)
    const failed = logRecords(logs).find((line) => line.message === 'request failed')
    expect(failed).toMatchObject({ link_session_id: 'link-session-failed-7', status: 400 })
  })
})

describe('duplicate Items, as Plaid defines them (same institution and an account with the same name and mask)', () => {
  it('refuses a login already linked before exchanging it: 409 with the existing item_id, no exchange at Plaid', async () => {
    const env = testEnv()
    const user = await newUser()
    const first = await linkItem(env, user)
    const publicToken = await emulator.publicToken(env)
    const res = await exchange(env, user, publicToken, {
      metadata: onSuccessMetadata(PLATYPUS, SANDBOX_DEFAULT_ACCOUNTS),
    })
    expect(res.status).toBe(409)
    expect(res.body).toEqual({ detail: DUPLICATE_DETAIL, item_id: itemIdOf(first) })
    // Plaid's advice: a detected duplicate is never exchanged (so never billed).
    expect((await emulator.calls(env))['/item/public_token/exchange']).toBe(1)
    const atPlaid = await emulator.items(env)
    expect(atPlaid.filter((i) => i.access_token === null)).toHaveLength(1)
    expect(await itemIdsOf(env, user)).toEqual([itemIdOf(first)])
  })

  it('links a second login at the same bank whose accounts differ (a business login beside a personal one)', async () => {
    const env = testEnv()
    const user = await newUser()
    const personal = await linkItem(env, user)
    const publicToken = await emulator.publicToken(env, 'ins_109508', { accounts: BUSINESS })
    const business = await exchange(env, user, publicToken, { metadata: onSuccessMetadata(PLATYPUS, BUSINESS) })
    expect(business.status).toBe(201)
    expect(business.body.accounts).toEqual([expect.objectContaining({ name: 'Business Checking', mask: '9000' })])
    expect((await itemIdsOf(env, user)).sort()).toEqual([itemIdOf(personal), itemIdOf(business)].sort())
  })

  it('links a second login at the same bank without metadata when Plaid reports other accounts', async () => {
    const env = testEnv()
    const user = await newUser()
    await linkItem(env, user)
    const publicToken = await emulator.publicToken(env, 'ins_109508', { accounts: BUSINESS })
    expect((await exchange(env, user, publicToken)).status).toBe(201)
    expect(await itemIdsOf(env, user)).toHaveLength(2)
  })

  it('does not count an account with the same name but another mask as the same account', async () => {
    const env = testEnv()
    const user = await newUser()
    await linkItem(env, user)
    const other = [{ name: 'Plaid Checking', mask: '7777' }]
    const publicToken = await emulator.publicToken(env, 'ins_109508', { accounts: other })
    expect((await exchange(env, user, publicToken, { metadata: onSuccessMetadata(PLATYPUS, other) })).status).toBe(201)
  })

  it('catches a duplicate the metadata hid with the accounts Plaid returns, and removes it at Plaid', async () => {
    const env = testEnv()
    const user = await newUser()
    const first = await linkItem(env, user)
    const publicToken = await emulator.publicToken(env)
    // The metadata names other accounts, but the login is the one already linked.
    const res = await exchange(env, user, publicToken, { metadata: onSuccessMetadata(PLATYPUS, BUSINESS) })
    expect(res.status).toBe(409)
    expect(res.body).toEqual({ detail: DUPLICATE_DETAIL, item_id: itemIdOf(first) })
    const atPlaid = await emulator.items(env)
    expect(atPlaid.filter((i) => i.removed)).toHaveLength(1)
    expect(atPlaid.filter((i) => !i.removed).map((i) => i.item_id)).toEqual([itemIdOf(first)])
    expect(await itemIdsOf(env, user)).toEqual([itemIdOf(first)])
  })

  it("is judged per user: another user's Item with the same accounts is no duplicate", async () => {
    const env = testEnv()
    const [a, b] = [await newUser(), await newUser()]
    await linkItem(env, a)
    const publicToken = await emulator.publicToken(env)
    const res = await exchange(env, b, publicToken, { metadata: onSuccessMetadata(PLATYPUS, SANDBOX_DEFAULT_ACCOUNTS) })
    expect(res.status).toBe(201)
  })
})

describe('duplicate Items at Chase, where a new Item of a login ends the older one (Plaid: remove the old Item)', () => {
  const CHASE = { institution_id: 'ins_56', name: 'Chase' }
  const PERSONAL = [
    { name: 'Plaid Checking', mask: '0000' },
    { name: 'Plaid Saving', mask: '1111' },
  ]
  const CHECKING_ONLY = [{ name: 'Plaid Checking', mask: '0000' }]

  it('keeps the new Item and removes the older one at Plaid and here, even when the metadata shows the duplicate', async () => {
    const env = testEnv()
    const user = await newUser()
    const older = await exchange(env, user, await emulator.publicToken(env, 'ins_56', { accounts: PERSONAL }))
    expect(older.status).toBe(201)
    // Sharing fewer accounts this time: Chase has already invalidated the older Item when Link finishes.
    const publicToken = await emulator.publicToken(env, 'ins_56', { accounts: CHECKING_ONLY })
    const res = await exchange(env, user, publicToken, { metadata: onSuccessMetadata(CHASE, CHECKING_ONLY) })
    expect(res.status).toBe(201)
    expect(res.body.replaced_item_ids).toEqual([itemIdOf(older)])
    expect(await itemIdsOf(env, user)).toEqual([itemIdOf(res)])
    const atPlaid = await emulator.items(env)
    expect(atPlaid.find((i) => i.item_id === itemIdOf(older))?.removed).toBe(true)
    expect(atPlaid.find((i) => i.item_id === itemIdOf(res))?.removed).toBe(false)
  })

  it('replaces the older Item when the new one shares the same accounts too', async () => {
    const env = testEnv()
    const user = await newUser()
    const older = await exchange(env, user, await emulator.publicToken(env, 'ins_56', { accounts: PERSONAL }))
    const res = await exchange(env, user, await emulator.publicToken(env, 'ins_56', { accounts: PERSONAL }))
    expect(res.status).toBe(201)
    expect(res.body.replaced_item_ids).toEqual([itemIdOf(older)])
    expect(await itemIdsOf(env, user)).toEqual([itemIdOf(res)])
  })

  it('keeps a second Chase login with other accounts, and says nothing was replaced', async () => {
    const env = testEnv()
    const user = await newUser()
    const personal = await exchange(env, user, await emulator.publicToken(env, 'ins_56', { accounts: PERSONAL }))
    const business = await exchange(env, user, await emulator.publicToken(env, 'ins_56', { accounts: BUSINESS }))
    expect(business.status).toBe(201)
    expect(business.body).not.toHaveProperty('replaced_item_ids')
    expect((await itemIdsOf(env, user)).sort()).toEqual([itemIdOf(personal), itemIdOf(business)].sort())
  })

  it('keeps the new Item when the older one cannot be removed now; the older stays listed for the user to remove', async () => {
    const env = testEnv()
    const user = await newUser()
    const older = await exchange(env, user, await emulator.publicToken(env, 'ins_56', { accounts: PERSONAL }))
    await emulator.fault(env, { endpoint: '/item/remove', kind: 'plaid_error' })
    const res = await exchange(env, user, await emulator.publicToken(env, 'ins_56', { accounts: CHECKING_ONLY }))
    expect(res.status).toBe(201)
    expect(res.body).not.toHaveProperty('replaced_item_ids')
    expect((await itemIdsOf(env, user)).sort()).toEqual([itemIdOf(older), itemIdOf(res)].sort())
  })
})
