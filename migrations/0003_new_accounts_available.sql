-- Set by Plaid's ITEM/NEW_ACCOUNTS_AVAILABLE webhook: the user can share more accounts through
-- update mode with account selection. Cleared when the Item is refreshed after update mode.
ALTER TABLE items ADD COLUMN new_accounts_available INTEGER NOT NULL DEFAULT 0;
