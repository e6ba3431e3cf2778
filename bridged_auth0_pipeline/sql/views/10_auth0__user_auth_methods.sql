-- auth0.user_auth_methods — "What is this user's authentication method?"
-- Grain: one row per live user (deleted_at, linked_to_user_id and filtered_out_at all NULL; an
-- account linked into another has deleted_at set as well, the second test only says so); key user_id.
-- This is the only view that applies the live-user filter and derives last_login_at: the
-- account-link and playbook views build on it instead of repeating those rules.
CREATE OR REPLACE VIEW auth0.user_auth_methods AS
WITH thresholds AS (
    SELECT
        -- method types an identity's provider settles by itself (auth0.identity_providers: 'auth0',
        -- custom databases too → database; 'sms', 'email' → passwordless); other providers go by isSocial
        list(method_type) FILTER (WHERE decided_by = 'provider') AS provider_method_types,
        -- the values Auth0 puts in a log event's strategy_type; anything else is not trusted
        list(method_type) AS known_method_types
    FROM auth0.method_types
),

live_users AS (
    SELECT *
    FROM auth0.users
    WHERE deleted_at IS NULL
      AND linked_to_user_id IS NULL   -- merged into another user by account linking
      AND filtered_out_at IS NULL
),

-- Every identity of a live user with the method type its connection stands for (auth0.connections,
-- from the connection's strategy) when the connection is known; else by its provider.
-- Order matters: 'auth0', 'sms' and 'email' identities are not social, so they are classified
-- before the is_social test; every other non-social identity is an enterprise IdP (samlp, waad,
-- adfs, oidc, okta, ad, google-apps, ...). NULL when Auth0 did not say whether it is social.
identities AS (
    SELECT
        i.user_id,
        i.provider,
        i.identity_user_id,
        i.connection,
        i.is_primary,
        CASE
            WHEN c.method_type IS NOT NULL THEN c.method_type
            WHEN list_contains(t.provider_method_types, p.method_type) THEN p.method_type
            WHEN i.is_social THEN 'social'
            WHEN NOT i.is_social THEN 'enterprise'
        END AS method_type
    FROM auth0.user_identities AS i
    JOIN live_users AS u USING (user_id)
    CROSS JOIN thresholds AS t
    LEFT JOIN auth0.connections AS c ON c.name = i.connection
    LEFT JOIN auth0.identity_providers AS p ON p.provider = i.provider
),

primary_identity AS (
    -- identities[0] is unique per user; the tie-break (first by provider, identity_user_id) only
    -- protects the grain if a load breaks that. arg_min groups by user without sorting every
    -- identity: a window over them was the costliest operator of this view, which every playbook
    -- reads (the playbook views' checks 0.99 -> 0.79 s at 100k users, median of 5).
    SELECT user_id, first.provider, first.connection, first.method_type
    FROM (
        SELECT user_id,
               arg_min({'provider': provider, 'connection': connection, 'method_type': method_type},
                       [provider, identity_user_id]) AS first
        FROM identities
        WHERE is_primary
        GROUP BY user_id
    )
),

identity_summary AS (
    SELECT
        user_id,
        list_sort(list_distinct(list(provider))) AS linked_providers,
        list_sort(list_distinct(list(method_type))) AS linked_method_types,  -- list_distinct drops NULL
        count(*) AS linked_identity_count
    FROM identities
    GROUP BY user_id
),

latest_login_success AS (
    SELECT user_id, occurred_at, connection, strategy, lower(strategy_type) AS strategy_type
    FROM auth0.login_events
    WHERE category = 'login_success'
      AND user_id IS NOT NULL
      AND occurred_at IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY occurred_at DESC, log_id DESC) = 1
),

-- How the latest logged-in session authenticated. In Auth0 a log event's strategy is the identity
-- provider's name; when the event lacks strategy or strategy_type, the user's identity on the
-- same connection fills them in.
latest_login_method AS (
    SELECT
        l.user_id,
        l.occurred_at,
        l.connection,
        coalesce(l.strategy, i.provider) AS provider,
        coalesce(
            CASE WHEN list_contains(t.known_method_types, l.strategy_type) THEN l.strategy_type END,
            i.method_type
        ) AS method_type
    FROM latest_login_success AS l
    CROSS JOIN thresholds AS t
    LEFT JOIN identities AS i
        ON i.user_id = l.user_id
       AND i.connection = l.connection
    -- a user can have two linked identities on one connection: prefer the primary one
    QUALIFY row_number() OVER (PARTITION BY l.user_id ORDER BY i.is_primary DESC, i.provider, i.identity_user_id) = 1
),

-- A non-empty multifactor list in the profile settles it, but nothing promises that list names
-- every enrolled factor, so MFA log events count as evidence too (auth0.log_event_types.mfa_evidence
-- 'enrolled': an enrollment finished, an MFA challenge or a recovery code passed), unless a later
-- one ('unenrolled': gd_unenroll) removed the factor.
mfa_evidence AS (
    SELECT
        e.user_id,
        max(e.occurred_at) FILTER (WHERE k.mfa_evidence = 'enrolled') AS last_enrolled_evidence_at,
        max(e.occurred_at) FILTER (WHERE k.mfa_evidence = 'unenrolled') AS last_unenrolled_at
    FROM auth0.login_events AS e
    JOIN auth0.log_event_types AS k ON k.code = e.type
    WHERE e.user_id IS NOT NULL
      AND k.mfa_evidence IS NOT NULL
    GROUP BY e.user_id
)

SELECT
    u.user_id,
    u.email,
    u.email_verified,
    p.provider AS primary_provider,
    p.connection AS primary_connection,
    p.method_type AS primary_method_type,
    coalesce(s.linked_providers, []) AS linked_providers,
    coalesce(s.linked_method_types, []) AS linked_method_types,
    coalesce(s.linked_identity_count, 0) AS linked_identity_count,
    -- enrolled factor in the profile, or MFA evidence newer than the last unenrollment (if any)
    coalesce(len(u.multifactor), 0) > 0
        OR coalesce(mfa.last_enrolled_evidence_at > mfa.last_unenrolled_at,
                    mfa.last_enrolled_evidence_at IS NOT NULL) AS mfa_enrolled,
    -- the profile's last_login covers logins older than the synced log history; greatest() skips NULL
    greatest(u.last_login, l.occurred_at) AS last_login_at,
    -- last_login_*: from the latest login_success event, else the primary identity
    CASE WHEN l.user_id IS NOT NULL THEN l.provider ELSE p.provider END AS last_login_provider,
    CASE WHEN l.user_id IS NOT NULL THEN l.connection ELSE p.connection END AS last_login_connection,
    CASE WHEN l.user_id IS NOT NULL THEN l.method_type ELSE p.method_type END AS last_login_method_type,
    CASE
        WHEN l.user_id IS NOT NULL THEN 'login_event'
        WHEN p.user_id IS NOT NULL THEN 'primary_identity'
    END AS last_login_method_source
FROM live_users AS u
LEFT JOIN primary_identity AS p USING (user_id)
LEFT JOIN identity_summary AS s USING (user_id)
LEFT JOIN latest_login_method AS l USING (user_id)
LEFT JOIN mfa_evidence AS mfa USING (user_id)
