-- Append the last log extraction (auth0_staging.login_events) to auth0.login_events, each log_id
-- once. The cursor is written by loads.py in the same transaction. Variables: synced_at.
CREATE OR REPLACE TEMP TABLE _staged AS
SELECT raw, try_cast(raw AS JSON) AS j FROM auth0_staging.login_events;

INSERT INTO auth0._rejected
SELECT 'login_events', json_extract_string(try_cast(raw AS JSON), '$.log_id'),
       CASE WHEN j IS NULL THEN 'invalid JSON' WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object'
            ELSE 'missing log_id' END,
       left(raw, 100000), getvariable('synced_at')
FROM _staged
WHERE j IS NULL OR json_type(j) <> 'OBJECT' OR (j->>'log_id') IS NULL;

INSERT INTO auth0._rejected
SELECT 'login_events', j->>'log_id', 'field date cannot be typed as TIMESTAMPTZ: ' || left(j->>'date', 200), left(raw, 100000), getvariable('synced_at')
FROM _staged
WHERE json_type(j) = 'OBJECT' AND (j->>'log_id') IS NOT NULL AND (j->>'date') IS NOT NULL
  AND try_cast(j->>'date' AS TIMESTAMPTZ) IS NULL
  AND NOT EXISTS (SELECT 1 FROM auth0.login_events e WHERE e.log_id = j->>'log_id');

INSERT INTO auth0.login_events BY NAME
SELECT DISTINCT ON (j->>'log_id')
    j->>'log_id'                                              AS log_id,
    try_cast(j->>'date' AS TIMESTAMPTZ)                       AS occurred_at,
    j->>'type'                                                AS type,
    t.description                                             AS type_description,
    coalesce(t.category, 'other')                             AS category,    -- unknown types are kept
    j->>'description'                                         AS description,
    j->>'user_id'                                             AS user_id,
    j->>'user_name'                                           AS user_name,
    j->>'client_id'                                           AS client_id,
    j->>'client_name'                                         AS client_name,
    j->>'connection'                                          AS connection,
    j->>'connection_id'                                       AS connection_id,
    j->>'strategy'                                            AS strategy,
    j->>'strategy_type'                                       AS strategy_type,
    j->>'ip'                                                  AS ip,
    j->>'user_agent'                                          AS user_agent,
    j->>'hostname'                                            AS hostname,
    try_cast(j->>'isMobile' AS BOOLEAN)                       AS is_mobile,
    j->'location_info'->>'country_code'                       AS country_code,
    j->'location_info'->>'country_name'                       AS country_name,
    j->'location_info'->>'city_name'                          AS city_name,
    try_cast(j->'location_info'->>'latitude' AS DOUBLE)       AS latitude,
    try_cast(j->'location_info'->>'longitude' AS DOUBLE)      AS longitude,
    j->'location_info'->>'time_zone'                          AS time_zone,
    j                                                         AS raw,
    getvariable('synced_at')                                  AS synced_at
FROM _staged
LEFT JOIN auth0.log_event_types t ON t.code = j->>'type'
WHERE json_type(j) = 'OBJECT' AND (j->>'log_id') IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM auth0.login_events e WHERE e.log_id = j->>'log_id')
ORDER BY j->>'log_id';

DROP TABLE _staged;
