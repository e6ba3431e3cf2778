-- playbooks.nurture — engagement from login history (guide: "Read user login history to identify
-- engaged users for follow-up").
-- Grain: one row per live user; key user_id. Counts come from auth0.login_events (categories
-- login_success and login_failure) over rolling windows ending now; last_login_at also uses the
-- profile's last_login, which covers logins older than the synced log history.
-- segment, first match wins:
--   never    no login at all (last_login_at is NULL)
--   engaged  last login within engaged_max_days AND at least engaged_min_logins_30d logins in 30 days
--   cooling  last login within dormant_after_days
--   dormant  last login longer ago
CREATE OR REPLACE VIEW playbooks.nurture AS
WITH thresholds AS (
    SELECT
        -- engaged users logged in this recently ...
        7 AS engaged_max_days,
        -- ... and this often in the last 30 days: a habit, not a single visit
        2 AS engaged_min_logins_30d,
        -- no login for more than this many days: dormant (in between: cooling)
        30 AS dormant_after_days
),

-- the 7/30/90-day windows are part of the column names, so they are written out here.
-- Every window is a number of 24-hour periods (to_hours), never calendar days: to_days() on a
-- TIMESTAMPTZ follows the session time zone's daylight-saving shifts, so the counts and segments
-- would change with the time zone of whoever runs the query.
login_counts AS (
    SELECT
        user_id,
        count(*) FILTER (WHERE category = 'login_success' AND occurred_at >= current_timestamp - to_hours(24 * 7)) AS logins_7d,
        count(*) FILTER (WHERE category = 'login_success' AND occurred_at >= current_timestamp - to_hours(24 * 30)) AS logins_30d,
        count(*) FILTER (WHERE category = 'login_success') AS logins_90d,
        count(*) FILTER (WHERE category = 'login_failure' AND occurred_at >= current_timestamp - to_hours(24 * 30)) AS failures_30d
    FROM auth0.login_events
    WHERE category IN ('login_success', 'login_failure')
      AND occurred_at >= current_timestamp - to_hours(24 * 90)
      AND user_id IS NOT NULL
    GROUP BY user_id
)

SELECT
    m.user_id,
    m.email,
    coalesce(c.logins_7d, 0) AS logins_7d,
    coalesce(c.logins_30d, 0) AS logins_30d,
    coalesce(c.logins_90d, 0) AS logins_90d,
    coalesce(c.failures_30d, 0) AS failures_30d,
    u.logins_count AS lifetime_logins,
    m.last_login_at,   -- greatest of users.last_login and the latest login_success event
    -- whole 24-hour periods since the last login, from the two instants' epoch seconds: subtracting
    -- TIMESTAMPTZs gives an interval in the session time zone's calendar days (23 or 25 hours
    -- across a daylight-saving change), which would make the count depend on the session
    floor((epoch(current_timestamp) - epoch(m.last_login_at)) / 86400)::BIGINT AS days_since_last_login,
    CASE
        WHEN m.last_login_at IS NULL THEN 'never'
        WHEN m.last_login_at >= current_timestamp - to_hours(24 * t.engaged_max_days)
         AND coalesce(c.logins_30d, 0) >= t.engaged_min_logins_30d THEN 'engaged'
        WHEN m.last_login_at >= current_timestamp - to_hours(24 * t.dormant_after_days) THEN 'cooling'
        ELSE 'dormant'
    END AS segment
FROM auth0.user_auth_methods AS m   -- live users only
JOIN auth0.users AS u USING (user_id)
LEFT JOIN login_counts AS c USING (user_id)
CROSS JOIN thresholds AS t
