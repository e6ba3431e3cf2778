-- Merge the last users extraction (auth0_staging.users) into auth0.users and auth0.user_identities.
-- Runs inside one transaction (bridged_auth0_pipeline/warehouse/loads.py) with these variables:
--   synced_at       TIMESTAMPTZ  this run's time
--   full_snapshot   BOOLEAN      staging holds the whole tenant (export job): absent users were deleted
--   user_filter     VARCHAR      'all' | 'active' | 'role'           (BRIDGED_USER_FILTER)
--   active_days     INTEGER      'active' = not blocked and logged in within this many days
--   filter_roles    VARCHAR[]    'role' = member of one of these roles (lower case)

-- Rows of a 1M-user load do not fit DuckDB's memory limit if inserts must keep their input order
-- (the identities insert ran out of memory at 256 MB); nothing here depends on row order.
SET preserve_insertion_order = false;

-- 1. Parse staging once; keep the newest version of each user (a user updated while we paged
--    arrives twice). Records that are not a JSON object with a user_id are rejected, not dropped.
--    Each record is parsed once: json_transform splits it into its top-level fields (each a small
--    JSON value), which are typed from there. Raw text is not copied: rejects read it from staging.
CREATE OR REPLACE TABLE auth0_staging._staged AS
SELECT staged_row, md5(j::VARCHAR) AS source_hash, json_type(j) AS kind,
       CASE WHEN json_type(j) = 'OBJECT' THEN json_transform(j, '{
           "user_id": "JSON", "email": "JSON", "email_verified": "JSON", "username": "JSON",
           "phone_number": "JSON", "phone_verified": "JSON", "name": "JSON", "nickname": "JSON",
           "given_name": "JSON", "family_name": "JSON", "picture": "JSON", "created_at": "JSON",
           "updated_at": "JSON", "last_login": "JSON", "last_ip": "JSON", "logins_count": "JSON",
           "blocked": "JSON", "multifactor": "JSON", "user_metadata": "JSON", "app_metadata": "JSON",
           "identities": "JSON"}') END AS e
FROM (SELECT rowid AS staged_row, try_cast(raw AS JSON) AS j FROM auth0_staging.users);

INSERT INTO auth0._rejected
SELECT 'users', CASE WHEN s.kind = 'OBJECT' THEN s.e.user_id->>'$' END,
       CASE WHEN s.kind IS NULL THEN 'invalid JSON'
            WHEN s.kind <> 'OBJECT' THEN 'not a JSON object'
            ELSE 'missing or non-text user_id' END,
       left(st.raw, 100000), getvariable('synced_at')
FROM auth0_staging._staged s JOIN auth0_staging.users st ON st.rowid = s.staged_row
WHERE s.kind IS DISTINCT FROM 'OBJECT' OR json_type(s.e.user_id) IS DISTINCT FROM 'VARCHAR';

CREATE OR REPLACE TABLE auth0_staging._typed AS
SELECT *,
    -- Fields present (not JSON null) that could not be typed: they land as NULL and are reported.
    list_filter([
        CASE WHEN created_at IS NULL     AND json_type(e_created_at)     <> 'NULL' THEN 'created_at' END,
        CASE WHEN updated_at IS NULL     AND json_type(e_updated_at)     <> 'NULL' THEN 'updated_at' END,
        CASE WHEN last_login IS NULL     AND json_type(e_last_login)     <> 'NULL' THEN 'last_login' END,
        CASE WHEN logins_count IS NULL   AND json_type(e_logins_count)   <> 'NULL' THEN 'logins_count' END,
        CASE WHEN email_verified IS NULL AND json_type(e_email_verified) <> 'NULL' THEN 'email_verified' END,
        CASE WHEN phone_verified IS NULL AND json_type(e_phone_verified) <> 'NULL' THEN 'phone_verified' END,
        CASE WHEN blocked IS NULL        AND json_type(e_blocked)        <> 'NULL' THEN 'blocked' END,
        CASE WHEN multifactor IS NULL    AND json_type(e_multifactor)    <> 'NULL' THEN 'multifactor' END,
        CASE WHEN identities IS NULL     AND json_type(e_identities)     <> 'NULL' THEN 'identities' END,
        CASE WHEN user_metadata IS NULL  AND json_type(e_user_metadata)  <> 'NULL' THEN 'user_metadata' END,
        CASE WHEN app_metadata IS NULL   AND json_type(e_app_metadata)   <> 'NULL' THEN 'app_metadata' END
    ], lambda x: x IS NOT NULL) AS untyped_fields
FROM (
    SELECT
        staged_row,
        e.user_id->>'$'                                       AS user_id,
        e.email->>'$'                                         AS email,
        try_cast(e.email_verified->>'$' AS BOOLEAN)           AS email_verified,
        e.username->>'$'                                      AS username,
        e.phone_number->>'$'                                  AS phone_number,
        try_cast(e.phone_verified->>'$' AS BOOLEAN)           AS phone_verified,
        e.name->>'$'                                          AS name,
        e.nickname->>'$'                                      AS nickname,
        e.given_name->>'$'                                    AS given_name,
        e.family_name->>'$'                                   AS family_name,
        e.picture->>'$'                                       AS picture,
        try_cast(e.created_at->>'$' AS TIMESTAMPTZ)           AS created_at,
        try_cast(e.updated_at->>'$' AS TIMESTAMPTZ)           AS updated_at,
        try_cast(e.last_login->>'$' AS TIMESTAMPTZ)           AS last_login,
        e.last_ip->>'$'                                       AS last_ip,
        try_cast(e.logins_count->>'$' AS BIGINT)              AS logins_count,
        try_cast(e.blocked->>'$' AS BOOLEAN)                  AS blocked,
        try_cast(e.multifactor AS VARCHAR[])                  AS multifactor,
        CASE WHEN json_type(e.user_metadata) = 'OBJECT' THEN e.user_metadata END AS user_metadata,
        CASE WHEN json_type(e.app_metadata) = 'OBJECT' THEN e.app_metadata END   AS app_metadata,
        try_cast(e.identities AS JSON[])                      AS identities,
        source_hash,
        e.created_at AS e_created_at, e.updated_at AS e_updated_at, e.last_login AS e_last_login,
        e.logins_count AS e_logins_count, e.email_verified AS e_email_verified,
        e.phone_verified AS e_phone_verified, e.blocked AS e_blocked, e.multifactor AS e_multifactor,
        e.identities AS e_identities, e.user_metadata AS e_user_metadata, e.app_metadata AS e_app_metadata
    FROM auth0_staging._staged
    WHERE kind = 'OBJECT' AND json_type(e.user_id) = 'VARCHAR'
);

-- A field that is present but cannot be typed lands as NULL; the record is kept and the problem
-- is reported in auth0._rejected (the no_rejected_records asset check shows it).
INSERT INTO auth0._rejected
SELECT 'users', t.user_id,
       'field ' || f.name || ' cannot be typed as '
           || CASE f.name WHEN 'created_at' THEN 'TIMESTAMPTZ' WHEN 'updated_at' THEN 'TIMESTAMPTZ'
                          WHEN 'last_login' THEN 'TIMESTAMPTZ' WHEN 'logins_count' THEN 'BIGINT'
                          WHEN 'multifactor' THEN 'VARCHAR[]' WHEN 'identities' THEN 'JSON[]'
                          WHEN 'user_metadata' THEN 'object' WHEN 'app_metadata' THEN 'object'
                          ELSE 'BOOLEAN' END
           || ': ' || left(json_extract_string(st.raw, '$.' || f.name), 200),
       left(st.raw, 100000), getvariable('synced_at')
FROM auth0_staging._typed t JOIN auth0_staging.users st ON st.rowid = t.staged_row, unnest(t.untyped_fields) AS f(name)
WHERE len(t.untyped_fields) > 0;

CREATE OR REPLACE TABLE auth0_staging._batch AS
SELECT * EXCLUDE (staged_row, untyped_fields, e_created_at, e_updated_at, e_last_login, e_logins_count,
                  e_email_verified, e_phone_verified, e_blocked, e_multifactor, e_identities,
                  e_user_metadata, e_app_metadata)
FROM auth0_staging._typed
QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY updated_at DESC NULLS LAST, source_hash) = 1;

-- 2. Only users that are new, changed, or come back after a deletion are rewritten; an older
--    version (search is eventually consistent) never overwrites a newer one.
CREATE OR REPLACE TABLE auth0_staging._changed AS
SELECT b.* FROM auth0_staging._batch b LEFT JOIN auth0.users u USING (user_id)
WHERE u.user_id IS NULL
   OR ((u.source_hash IS DISTINCT FROM b.source_hash OR u.deleted_at IS NOT NULL)
       AND (u.updated_at IS NULL OR b.updated_at IS NULL OR b.updated_at >= u.updated_at));

DELETE FROM auth0.users WHERE user_id IN (SELECT user_id FROM auth0_staging._changed);
INSERT INTO auth0.users BY NAME
SELECT * EXCLUDE (identities), NULL AS deleted_at, NULL AS filtered_out_at, getvariable('synced_at') AS synced_at
FROM auth0_staging._changed;

DELETE FROM auth0.user_identities WHERE user_id IN (SELECT user_id FROM auth0_staging._changed);
INSERT INTO auth0.user_identities BY NAME
SELECT
    c.user_id,
    i.identity->>'provider'                               AS provider,
    i.identity->>'user_id'                                AS identity_user_id,  -- github sends a number
    i.identity->>'connection'                             AS connection,
    try_cast(i.identity->>'isSocial' AS BOOLEAN)          AS is_social,
    i.position = 1                                        AS is_primary,
    CASE WHEN json_type(i.identity, '$.profileData') = 'OBJECT' THEN i.identity->'profileData' END AS profile_data,
    getvariable('synced_at')                              AS synced_at
FROM auth0_staging._changed c, unnest(c.identities) WITH ORDINALITY AS i(identity, position)
WHERE i.identity->>'provider' IS NOT NULL AND i.identity->>'user_id' IS NOT NULL
  -- A (provider, id) pair listed twice lands once, from its first entry: found within the user's own
  -- list, so no sort or aggregate over every identity (which would not fit the memory limit).
  AND list_position(list_transform(c.identities, lambda x: [x->>'provider', x->>'user_id']),
                    [i.identity->>'provider', i.identity->>'user_id']) = i.position;

-- 3. Deletions. A full snapshot is the whole tenant: whoever it lacks was deleted. An `sdu` log
--    event deletes the user unless the user was updated after it (the id was re-created).
UPDATE auth0.users SET deleted_at = getvariable('synced_at')
WHERE getvariable('full_snapshot') AND deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM auth0_staging._batch b WHERE b.user_id = auth0.users.user_id);

UPDATE auth0.users SET deleted_at = d.deleted_at
FROM (SELECT user_id, max(occurred_at) AS deleted_at
      FROM auth0.login_events WHERE type = 'sdu' AND user_id IS NOT NULL GROUP BY user_id) AS d
WHERE auth0.users.user_id = d.user_id AND auth0.users.deleted_at IS NULL
  AND (auth0.users.updated_at IS NULL OR d.deleted_at >= auth0.users.updated_at);

-- 4. BRIDGED_USER_FILTER: users outside it are marked (filtered_out_at), never silently left stale.
CREATE OR REPLACE TABLE auth0_staging._filter AS
SELECT u.user_id,
       CASE getvariable('user_filter')
           WHEN 'active' THEN NOT coalesce(u.blocked, false)
                          AND coalesce(u.last_login >= getvariable('synced_at') - to_hours(24 * getvariable('active_days')), false)
           WHEN 'role' THEN EXISTS (SELECT 1 FROM auth0.user_roles r
                                    WHERE r.user_id = u.user_id AND lower(r.role_name) IN (SELECT unnest(getvariable('filter_roles'))))
           ELSE true
       END AS matches
FROM auth0.users u;

UPDATE auth0.users SET filtered_out_at = CASE WHEN f.matches THEN NULL ELSE getvariable('synced_at') END
FROM auth0_staging._filter f
WHERE auth0.users.user_id = f.user_id AND (auth0.users.filtered_out_at IS NULL) IS DISTINCT FROM f.matches;

DROP TABLE auth0_staging._staged;
DROP TABLE auth0_staging._typed;
DROP TABLE auth0_staging._batch;
DROP TABLE auth0_staging._changed;
DROP TABLE auth0_staging._filter;
RESET preserve_insertion_order;
