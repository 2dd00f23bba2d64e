-- Plaid's definition of a duplicate Item is the same institution AND an account with the same name
-- and mask, not the institution alone: a user may hold a personal and a business login at one
-- bank. The check moves into the insert of a new Item (store/items.ts, insertLinkedItem).
DROP INDEX items_one_per_institution;
CREATE INDEX items_by_institution ON items (user_id, institution_id);
