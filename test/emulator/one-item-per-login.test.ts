import { describe, expect, it } from 'vitest'
import { newClientId, plaid } from './plaid'

type Meta = { name: string; mask: string }
const CHECKING = { name: 'Plaid Checking', mask: '0000' }
const SAVING = { name: 'Plaid Saving', mask: '1111' }

/** An exchanged Item of a custom Sandbox login with these accounts. */
async function link(clientId: string, institutionId: string, accounts: Meta[]): Promise<string> {
  const created = await plaid(clientId, '/sandbox/public_token/create', {
    institution_id: institutionId,
    initial_products: ['transactions'],
    options: {
      override_username: 'user_custom',
      override_password: JSON.stringify({
        override_accounts: accounts.map((meta) => ({ type: 'depository', subtype: 'checking', meta })),
      }),
    },
  })
  expect(created.status).toBe(200)
  const exchanged = await plaid(clientId, '/item/public_token/exchange', { public_token: created.body.public_token })
  return exchanged.body.access_token as string
}

const errorOf = async (clientId: string, accessToken: string) =>
  (
    (await plaid(clientId, '/item/get', { access_token: accessToken })).body.item as {
      error: { error_code: string } | null
    }
  ).error?.error_code ?? null

describe('Chase (ins_56): a new Item of a login ends its older Items unless both share the same accounts', () => {
  it('invalidates the older Item when the new one shares other accounts: it needs the user again', async () => {
    const clientId = newClientId()
    const older = await link(clientId, 'ins_56', [CHECKING, SAVING])
    const newer = await link(clientId, 'ins_56', [CHECKING])
    expect(await errorOf(clientId, older)).toBe('ITEM_LOGIN_REQUIRED')
    expect((await plaid(clientId, '/accounts/get', { access_token: older })).body.error_code).toBe(
      'ITEM_LOGIN_REQUIRED',
    )
    expect(await errorOf(clientId, newer)).toBeNull()
  })

  it('leaves the older Item healthy when the new one has exactly the same accounts', async () => {
    const clientId = newClientId()
    const older = await link(clientId, 'ins_56', [CHECKING, SAVING])
    await link(clientId, 'ins_56', [SAVING, CHECKING])
    expect(await errorOf(clientId, older)).toBeNull()
  })

  it('leaves Items of another login (no account in common) alone', async () => {
    const clientId = newClientId()
    const older = await link(clientId, 'ins_56', [CHECKING])
    await link(clientId, 'ins_56', [{ name: 'Business Checking', mask: '9000' }])
    expect(await errorOf(clientId, older)).toBeNull()
  })

  it('happens at Chase only: at other banks duplicate Items all stay healthy', async () => {
    const clientId = newClientId()
    const older = await link(clientId, 'ins_109508', [CHECKING, SAVING])
    await link(clientId, 'ins_109508', [CHECKING])
    expect(await errorOf(clientId, older)).toBeNull()
  })
})
