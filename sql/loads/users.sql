-- Merge the last users extraction (auth0_staging.users) into auth0.users and auth0.user_identities.
-- Runs inside one transaction (bridged_auth0_pipeline/warehouse/loads.py) with these variables:
--   synced_at       TIMESTAMPTZ  this run's time
--   full_snapshot   BOOLEAN      staging holds the whole tenant (export job): absent users were deleted
--   user_filter     VARCHAR      'all' | 'active' | 'role'           (BRIDGED_USER_FILTER)
--   active_days     INTEGER      'active' = not blocked and logged in within this many days
--   filter_roles    VARCHAR[]    'role' = member of one of these roles (lower case)

-- 1. Parse staging once; keep the newest version of each user (a user updated while we paged
--    arrives twice). Records that are not a JSON object with a user_id are rejected, not dropped.
CREATE OR REPLACE TEMP TABLE _staged AS
SELECT raw, try_cast(raw AS JSON) AS j FROM auth0_staging.users;

INSERT INTO auth0._rejected
SELECT 'users', json_extract_string(try_cast(raw AS JSON), '$.user_id'),
       CASE WHEN j IS NULL THEN 'invalid JSON'
            WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object'
            ELSE 'missing or non-text user_id' END,
       left(raw, 100000), getvariable('synced_at')
FROM _staged
WHERE j IS NULL OR json_type(j) <> 'OBJECT' OR json_type(j, '$.user_id') IS DISTINCT FROM 'VARCHAR';

CREATE OR REPLACE TEMP TABLE _batch AS
SELECT
    j->>'user_id'                                         AS user_id,
    j->>'email'                                           AS email,
    try_cast(j->>'email_verified' AS BOOLEAN)             AS email_verified,
    j->>'username'                                        AS username,
    j->>'phone_number'                                    AS phone_number,
    try_cast(j->>'phone_verified' AS BOOLEAN)             AS phone_verified,
    j->>'name'                                            AS name,
    j->>'nickname'                                        AS nickname,
    j->>'given_name'                                      AS given_name,
    j->>'family_name'                                     AS family_name,
    j->>'picture'                                         AS picture,
    try_cast(j->>'created_at' AS TIMESTAMPTZ)             AS created_at,
    try_cast(j->>'updated_at' AS TIMESTAMPTZ)             AS updated_at,
    try_cast(j->>'last_login' AS TIMESTAMPTZ)             AS last_login,
    j->>'last_ip'                                         AS last_ip,
    try_cast(j->>'logins_count' AS BIGINT)                AS logins_count,
    try_cast(j->>'blocked' AS BOOLEAN)                    AS blocked,
    try_cast(j->'multifactor' AS VARCHAR[])               AS multifactor,
    CASE WHEN json_type(j, '$.user_metadata') = 'OBJECT' THEN j->'user_metadata' END AS user_metadata,
    CASE WHEN json_type(j, '$.app_metadata') = 'OBJECT' THEN j->'app_metadata' END   AS app_metadata,
    try_cast(j->'identities' AS JSON[])                   AS identities,
    md5(j::VARCHAR)                                       AS source_hash
FROM _staged
WHERE json_type(j) = 'OBJECT' AND json_type(j, '$.user_id') = 'VARCHAR'
QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY updated_at DESC NULLS LAST, source_hash) = 1;

-- A field that is present but cannot be typed lands as NULL; the record is kept and the problem
-- is reported in auth0._rejected (the no_rejected_records asset check shows it).
INSERT INTO auth0._rejected
SELECT 'users', s.j->>'user_id', 'field ' || f.name || ' cannot be typed as ' || f.type || ': ' || left(f.value, 200),
       left(s.raw, 100000), getvariable('synced_at')
FROM _staged s,
     unnest([
         {name: 'created_at',     type: 'TIMESTAMPTZ', value: s.j->>'created_at',     ok: try_cast(s.j->>'created_at' AS TIMESTAMPTZ) IS NOT NULL},
         {name: 'updated_at',     type: 'TIMESTAMPTZ', value: s.j->>'updated_at',     ok: try_cast(s.j->>'updated_at' AS TIMESTAMPTZ) IS NOT NULL},
         {name: 'last_login',     type: 'TIMESTAMPTZ', value: s.j->>'last_login',     ok: try_cast(s.j->>'last_login' AS TIMESTAMPTZ) IS NOT NULL},
         {name: 'logins_count',   type: 'BIGINT',      value: s.j->>'logins_count',   ok: try_cast(s.j->>'logins_count' AS BIGINT) IS NOT NULL},
         {name: 'email_verified', type: 'BOOLEAN',     value: s.j->>'email_verified', ok: try_cast(s.j->>'email_verified' AS BOOLEAN) IS NOT NULL},
         {name: 'phone_verified', type: 'BOOLEAN',     value: s.j->>'phone_verified', ok: try_cast(s.j->>'phone_verified' AS BOOLEAN) IS NOT NULL},
         {name: 'blocked',        type: 'BOOLEAN',     value: s.j->>'blocked',        ok: try_cast(s.j->>'blocked' AS BOOLEAN) IS NOT NULL},
         {name: 'multifactor',    type: 'VARCHAR[]',   value: s.j->>'multifactor',    ok: try_cast(s.j->'multifactor' AS VARCHAR[]) IS NOT NULL},
         {name: 'identities',     type: 'JSON[]',      value: s.j->>'identities',     ok: try_cast(s.j->'identities' AS JSON[]) IS NOT NULL},
         {name: 'user_metadata',  type: 'object',      value: s.j->>'user_metadata',  ok: json_type(s.j, '$.user_metadata') = 'OBJECT'},
         {name: 'app_metadata',   type: 'object',      value: s.j->>'app_metadata',   ok: json_type(s.j, '$.app_metadata') = 'OBJECT'}
     ]) AS t(f)
WHERE json_type(s.j) = 'OBJECT' AND json_type(s.j, '$.user_id') = 'VARCHAR'
  AND json_type(s.j, '$.' || f.name) IS DISTINCT FROM 'NULL' AND f.value IS NOT NULL AND NOT f.ok;

-- 2. Only users that are new, changed, or come back after a deletion are rewritten; an older
--    version (search is eventually consistent) never overwrites a newer one.
CREATE OR REPLACE TEMP TABLE _changed AS
SELECT b.* FROM _batch b LEFT JOIN auth0.users u USING (user_id)
WHERE u.user_id IS NULL
   OR ((u.source_hash IS DISTINCT FROM b.source_hash OR u.deleted_at IS NOT NULL)
       AND (u.updated_at IS NULL OR b.updated_at IS NULL OR b.updated_at >= u.updated_at));

DELETE FROM auth0.users WHERE user_id IN (SELECT user_id FROM _changed);
INSERT INTO auth0.users BY NAME
SELECT * EXCLUDE (identities), NULL AS deleted_at, NULL AS filtered_out_at, getvariable('synced_at') AS synced_at
FROM _changed;

DELETE FROM auth0.user_identities WHERE user_id IN (SELECT user_id FROM _changed);
INSERT INTO auth0.user_identities BY NAME
SELECT DISTINCT ON (c.user_id, i.identity->>'provider', i.identity->>'user_id')
    c.user_id,
    i.identity->>'provider'                               AS provider,
    i.identity->>'user_id'                                AS identity_user_id,  -- github sends a number
    i.identity->>'connection'                             AS connection,
    try_cast(i.identity->>'isSocial' AS BOOLEAN)          AS is_social,
    i.position = 1                                        AS is_primary,
    CASE WHEN json_type(i.identity, '$.profileData') = 'OBJECT' THEN i.identity->'profileData' END AS profile_data,
    getvariable('synced_at')                              AS synced_at
FROM _changed c, unnest(c.identities) WITH ORDINALITY AS i(identity, position)
WHERE i.identity->>'provider' IS NOT NULL AND i.identity->>'user_id' IS NOT NULL
ORDER BY c.user_id, i.identity->>'provider', i.identity->>'user_id', i.position;

-- 3. Deletions. A full snapshot is the whole tenant: whoever it lacks was deleted. An `sdu` log
--    event deletes the user unless the user was updated after it (the id was re-created).
UPDATE auth0.users SET deleted_at = getvariable('synced_at')
WHERE getvariable('full_snapshot') AND deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM _batch b WHERE b.user_id = auth0.users.user_id);

UPDATE auth0.users SET deleted_at = d.deleted_at
FROM (SELECT user_id, max(occurred_at) AS deleted_at
      FROM auth0.login_events WHERE type = 'sdu' AND user_id IS NOT NULL GROUP BY user_id) AS d
WHERE auth0.users.user_id = d.user_id AND auth0.users.deleted_at IS NULL
  AND (auth0.users.updated_at IS NULL OR d.deleted_at >= auth0.users.updated_at);

-- 4. BRIDGED_USER_FILTER: users outside it are marked (filtered_out_at), never silently left stale.
CREATE OR REPLACE TEMP TABLE _filter AS
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
FROM _filter f
WHERE auth0.users.user_id = f.user_id AND (auth0.users.filtered_out_at IS NULL) IS DISTINCT FROM f.matches;

DROP TABLE _staged;
DROP TABLE _batch;
DROP TABLE _changed;
DROP TABLE _filter;
