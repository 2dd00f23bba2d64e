import { describe, expect, it } from 'vitest'
import { newClientId, plaid, plaidError } from './plaid'

const customUser = (config: unknown) => ({
  institution_id: 'ins_109508',
  initial_products: ['transactions'],
  options: { override_username: 'user_custom', override_password: JSON.stringify(config) },
})

async function accountsOf(clientId: string, publicToken: unknown) {
  const exchanged = await plaid(clientId, '/item/public_token/exchange', { public_token: publicToken })
  const { body } = await plaid(clientId, '/accounts/get', { access_token: exchanged.body.access_token })
  return body.accounts as Array<Record<string, unknown>>
}

describe("Sandbox's custom user (override_username user_custom)", () => {
  it('gives the Item the accounts its configuration lists', async () => {
    const clientId = newClientId()
    const created = await plaid(
      clientId,
      '/sandbox/public_token/create',
      customUser({
        override_accounts: [
          {
            type: 'depository',
            subtype: 'checking',
            starting_balance: 250,
            meta: { name: 'Business Checking', mask: '9000' },
          },
          { type: 'credit', subtype: 'credit card', meta: { name: 'Business Card', mask: '9001' } },
        ],
      }),
    )
    expect(created.status).toBe(200)
    const accounts = await accountsOf(clientId, created.body.public_token)
    expect(accounts.map((a) => [a.name, a.mask, a.type, a.subtype])).toEqual([
      ['Business Checking', '9000', 'depository', 'checking'],
      ['Business Card', '9001', 'credit', 'credit card'],
    ])
    expect(accounts[0]?.balances).toMatchObject({ current: 250, available: 250 })
  })

  it("keeps Plaid's default accounts for any other username", async () => {
    const clientId = newClientId()
    const created = await plaid(clientId, '/sandbox/public_token/create', {
      institution_id: 'ins_109508',
      initial_products: ['transactions'],
      options: { override_username: 'user_good', override_password: 'pass_good' },
    })
    const accounts = await accountsOf(clientId, created.body.public_token)
    expect(accounts.map((a) => a.name)).toContain('Plaid Checking')
  })

  it.each([
    ['a password that is not JSON', 'not json', /it is not JSON/],
    ['an empty account list', JSON.stringify({ override_accounts: [] }), /1 to 10 accounts/],
    ['an unknown account type', JSON.stringify({ override_accounts: [{ type: 'bank' }] }), /type must be one of/],
  ])('refuses %s with INVALID_FIELD', async (_name, password, message) => {
    const clientId = newClientId()
    // A request Plaid's spec allows (the password is free text); the configuration inside is wrong.
    const created = await plaid(clientId, '/sandbox/public_token/create', {
      institution_id: 'ins_109508',
      initial_products: ['transactions'],
      options: { override_username: 'user_custom', override_password: password },
    })
    expect(created).toEqual(plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', message))
  })
})
