import type { SandboxAccount } from './emulator'

/** The accounts every default Sandbox login (user_good) has, as Plaid names them. */
export const SANDBOX_DEFAULT_ACCOUNTS: SandboxAccount[] = [
  { name: 'Plaid Checking', mask: '0000', subtype: 'checking' },
  { name: 'Plaid Saving', mask: '1111', subtype: 'savings' },
]

/**
 * The metadata react-plaid-link's onSuccess hands the frontend, in Plaid's shape: the frontend
 * sends it on as is.
 */
export function onSuccessMetadata(
  institution: { institution_id: string; name: string },
  accounts: SandboxAccount[],
  linkSessionId = `link-session-${crypto.randomUUID()}`,
) {
  return {
    institution,
    accounts: accounts.map((a, i) => ({
      id: `account-${i}`,
      name: a.name,
      mask: a.mask,
      type: a.type ?? 'depository',
      subtype: a.subtype ?? 'checking',
      verification_status: null,
      class_type: null,
    })),
    link_session_id: linkSessionId,
    transfer_status: null,
    // Older Link versions also pass these along; they are accepted and ignored.
    account: null,
    account_id: null,
    public_token: 'public-sandbox-ignored',
  }
}
