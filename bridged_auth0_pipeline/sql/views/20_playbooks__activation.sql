-- playbooks.activation — users to reach with an authentication-related message (guide: "Read user
-- profiles to trigger authentication-related messages via WhatsApp").
-- Grain: one row per live, non-blocked user with at least one reason and a way to contact them;
-- key user_id. `reasons` lists every reason that applies, in priority order; `primary_reason` is the
-- first of them:
--   1 unverified_email        the account has an email that is not verified; verifying comes first
--                             because an app may refuse logins until it is done
--   2 never_logged_in         no login anywhere (profile last_login nor login_success event)
--   3 signed_up_not_returned  signed up recently, logged in during the signup visit, never since
-- never_logged_in and signed_up_not_returned exclude each other (the latter needs a login).
CREATE OR REPLACE VIEW playbooks.activation AS
WITH thresholds AS (
    SELECT
        -- signed_up_not_returned only looks at accounts created within this many days
        14 AS recent_signup_days,
        -- logins within this many hours of created_at belong to the signup visit; a later login is a
        -- return. The account must also be this old, or the user has not had the chance to return.
        24 AS signup_visit_hours
),

candidates AS (
    SELECT
        u.user_id,
        u.name,
        u.email,
        u.email_verified,
        u.created_at,
        m.last_login_at,
        -- WhatsApp needs a phone number, so a phone wins; email is the fallback
        CASE
            WHEN trim(u.phone_number) <> '' THEN 'whatsapp'
            WHEN trim(u.email) <> '' THEN 'email'
        END AS contact_channel,
        CASE
            WHEN trim(u.phone_number) <> '' THEN trim(u.phone_number)
            WHEN trim(u.email) <> '' THEN trim(u.email)
        END AS contact_value
    FROM auth0.user_auth_methods AS m   -- live users only
    JOIN auth0.users AS u USING (user_id)
    WHERE NOT coalesce(u.blocked, false)
),

-- one row per (user, reason that applies), with the reason's priority
reason_hits AS (
    SELECT user_id, 1 AS priority, 'unverified_email' AS reason
    FROM candidates
    WHERE trim(email) <> ''
      AND NOT coalesce(email_verified, false)

    UNION ALL
    SELECT user_id, 2 AS priority, 'never_logged_in' AS reason
    FROM candidates
    WHERE last_login_at IS NULL

    UNION ALL
    SELECT c.user_id, 3 AS priority, 'signed_up_not_returned' AS reason
    FROM candidates AS c
    CROSS JOIN thresholds AS t
    -- days are 24-hour periods (to_hours), not calendar days: to_days() on a TIMESTAMPTZ follows the
    -- session time zone's daylight-saving shifts, so the rows would depend on who runs the query
    WHERE c.created_at >= current_timestamp - to_hours(24 * t.recent_signup_days)
      AND c.created_at <= current_timestamp - to_hours(t.signup_visit_hours)
      AND c.last_login_at < c.created_at + to_hours(t.signup_visit_hours)
)

SELECT
    c.user_id,
    c.name,
    min_by(r.reason, r.priority) AS primary_reason,
    list(r.reason ORDER BY r.priority) AS reasons,
    c.contact_channel,
    c.contact_value,
    c.created_at,
    c.last_login_at
FROM candidates AS c
JOIN reason_hits AS r USING (user_id)
WHERE c.contact_channel IS NOT NULL   -- no phone and no email: nobody to message
GROUP BY ALL
