-- auth0.account_link_candidates — separate Auth0 accounts that could be linked
-- (guide, "Alternative: User Account Linking": users with identical VERIFIED email addresses).
-- Grain: one row per live account whose verified email (trimmed, case-insensitive) is shared with
-- at least one other live account; key user_id. Unverified emails never join a group: anyone can
-- sign up with someone else's address, so only verification proves one person owns both accounts.
-- Blocked accounts stay in: whether to link them is the administrator's call.
CREATE OR REPLACE VIEW auth0.account_link_candidates AS
WITH verified_accounts AS (
    SELECT
        user_id,
        lower(trim(email)) AS normalized_email,
        linked_providers AS providers
    FROM auth0.user_auth_methods   -- live users only
    WHERE email_verified
      AND trim(email) <> ''
),

-- pairs each account with every other account of the same email; an account without a twin
-- drops out here, which is what makes a group have at least two accounts
other_accounts AS (
    SELECT
        a.user_id,
        list(b.user_id ORDER BY b.user_id) AS other_user_ids
    FROM verified_accounts AS a
    JOIN verified_accounts AS b
        ON b.normalized_email = a.normalized_email
       AND b.user_id <> a.user_id
    GROUP BY a.user_id
)

SELECT
    a.normalized_email,
    a.user_id,
    a.providers,
    len(o.other_user_ids) + 1 AS accounts_in_group,
    o.other_user_ids
FROM verified_accounts AS a
JOIN other_accounts AS o USING (user_id)
