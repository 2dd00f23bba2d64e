/**
 * The schemas the document names (`#/components/schemas/<name>`): the requests the routes check
 * (src/routes/schemas.ts) and the answers (responses.ts).
 */
import { ExchangeBody, LinkInstitution, LinkSuccessMetadata, LinkTokenBody, WebhookBody } from '../routes/schemas'
import * as answers from './responses'

export const named = {
  LinkTokenRequest: LinkTokenBody,
  ExchangeTokenRequest: ExchangeBody,
  LinkSuccessMetadata,
  LinkInstitution,
  PlaidWebhook: WebhookBody,
  Error: answers.ErrorBody,
  Ready: answers.Ready,
  NotReady: answers.NotReady,
  LinkToken: answers.LinkToken,
  Item: answers.Item,
  Account: answers.Account,
  ItemEnvelope: answers.ItemEnvelope,
  ItemList: answers.ItemList,
  AccountList: answers.AccountList,
  BalanceRefresh: answers.BalanceRefresh,
  SyncResult: answers.SyncResult,
  Transaction: answers.Transaction,
  Counterparty: answers.Counterparty,
  TransactionPage: answers.TransactionPage,
  WebhookReceipt: answers.WebhookReceipt,
  LinkedItem: answers.LinkedItem,
}

export type Named = keyof typeof named

/**
 * What the request schemas mean, for people: prose only (every limit comes from the schema), so
 * the Worker's own schemas carry no documentation it never reads.
 */
export const fieldDescriptions: Partial<Record<Named, { description?: string; fields?: Record<string, string> }>> = {
  LinkTokenRequest: {
    fields: {
      item_id: 'Launch Link in update mode for this Item',
      account_selection: 'With item_id: let the user share accounts they left out (new_accounts_available)',
    },
  },
  ExchangeTokenRequest: {
    description:
      "Link's onSuccess: the public token, and either the whole `metadata` or (the older body) `institution`, not both",
    fields: { institution: "Link's `metadata.institution`", metadata: "Link's onSuccess `metadata`, as Link gives it" },
  },
  LinkSuccessMetadata: {
    description: "Link's onSuccess `metadata`: the fields read here are checked, others are accepted and ignored",
  },
  LinkInstitution: { description: "Link's `metadata.institution` (null after micro-deposit verification)" },
  PlaidWebhook: { description: "Plaid's webhook: the fields read here are checked, others are accepted" },
}
