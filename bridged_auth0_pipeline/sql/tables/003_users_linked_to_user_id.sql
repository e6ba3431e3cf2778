-- Account linking: Auth0 removes a linked-away secondary user without an `sdu` event, so the
-- users load recognises it by its identity appearing under another user (sql/loads/users.sql,
-- step 4). Such a row keeps the primary's id here and is not live: deleted_at is set too, so
-- every `deleted_at IS NULL` filter (views, checks, analysts' queries) already leaves it out.
-- NULL for every other user, and again once an unlinked account comes back as a user of its own.
ALTER TABLE auth0.users ADD COLUMN linked_to_user_id VARCHAR;
