/**
 * Institutions where a new Item of a login invalidates that login's older Items (unless both share
 * exactly the same accounts), when the user finishes the bank's OAuth flow: before Link's
 * onSuccess, so its metadata cannot prevent the duplicate. Plaid's advice there is to keep the new
 * Item and remove the old one with /item/remove (Plaid support, "How do duplicate Items work with
 * Chase?"). Chase is `ins_56` in Production and Sandbox alike.
 */
const NEW_ITEM_REPLACES_OLDER = new Set(['ins_56'])

export const newItemReplacesOlder = (institutionId: string | null | undefined): boolean =>
  institutionId != null && NEW_ITEM_REPLACES_OLDER.has(institutionId)
