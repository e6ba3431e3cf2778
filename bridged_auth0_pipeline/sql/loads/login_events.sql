-- Append the last log extraction (auth0_staging.login_events) to auth0.login_events, each log_id
-- once. The cursor is written by loads.py in the same transaction. Variables: synced_at,
-- user_deletions_only (the data object logins is off: the log is read for user deletions only).
-- Each event is parsed once into a struct of the text fields typed below (json_transform, instead
-- of one parse per field). `_staged` keeps the struct and why a row is rejected, not the JSON
-- itself: `raw` and the rejects' text are read from staging by row. Keeping the parsed JSON too
-- held the event text twice in memory: a 20k-user full sync's run peaked at 380-397 MB with it and
-- 350-366 MB without (forked runs, 5 and 3).
CREATE OR REPLACE TEMP TABLE _staged AS
SELECT staged_row, e.log_id AS log_id, e,
       CASE WHEN e.log_id IS NOT NULL THEN NULL WHEN j IS NULL THEN 'invalid JSON'
            WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object' ELSE 'missing log_id' END AS rejected_because
FROM (
    -- A JSON value that is not an object becomes a struct of NULLs (no log_id): rejected below.
    SELECT staged_row, j, json_transform(j, '{
               "log_id": "VARCHAR", "date": "VARCHAR", "type": "VARCHAR", "description": "VARCHAR",
               "user_id": "VARCHAR", "user_name": "VARCHAR", "client_id": "VARCHAR", "client_name": "VARCHAR",
               "connection": "VARCHAR", "connection_id": "VARCHAR", "strategy": "VARCHAR", "strategy_type": "VARCHAR",
               "ip": "VARCHAR", "user_agent": "VARCHAR", "hostname": "VARCHAR", "isMobile": "VARCHAR",
               "location_info": {"country_code": "VARCHAR", "country_name": "VARCHAR", "city_name": "VARCHAR",
                                 "latitude": "VARCHAR", "longitude": "VARCHAR", "time_zone": "VARCHAR"}}') AS e
    FROM (SELECT rowid AS staged_row, try_cast(raw AS JSON) AS j FROM auth0_staging.login_events)
);

-- Filters and joins use the log_id column, never the struct: a correlated subquery on s.e.log_id
-- made DuckDB group by the whole struct, which took half of this load's time at 2.26M events.
INSERT INTO auth0._rejected
SELECT 'login_events', NULL, s.rejected_because,
       left(st.raw, 100000), getvariable('synced_at')
FROM _staged s JOIN auth0_staging.login_events st ON st.rowid = s.staged_row
WHERE s.log_id IS NULL;

INSERT INTO auth0._rejected
SELECT 'login_events', s.log_id, 'field date cannot be typed as TIMESTAMPTZ: ' || left(s.e.date, 200),
       left(st.raw, 100000), getvariable('synced_at')
FROM _staged s JOIN auth0_staging.login_events st ON st.rowid = s.staged_row
WHERE s.log_id IS NOT NULL AND s.e.date IS NOT NULL AND try_cast(s.e.date AS TIMESTAMPTZ) IS NULL
  AND NOT EXISTS (SELECT 1 FROM auth0.login_events x WHERE x.log_id = s.log_id);

INSERT INTO auth0.login_events BY NAME
SELECT
    s.log_id                                         AS log_id,
    try_cast(s.e.date AS TIMESTAMPTZ)                AS occurred_at,
    s.e.type                                         AS type,
    t.description                                  AS type_description,
    coalesce(t.category, 'other')                  AS category,    -- unknown types are kept
    s.e.description, s.e.user_id, s.e.user_name, s.e.client_id, s.e.client_name, s.e.connection, s.e.connection_id,
    s.e.strategy, s.e.strategy_type, s.e.ip, s.e.user_agent, s.e.hostname,
    try_cast(s.e.isMobile AS BOOLEAN)                AS is_mobile,
    s.e.location_info.country_code                   AS country_code,
    s.e.location_info.country_name                   AS country_name,
    s.e.location_info.city_name                      AS city_name,
    try_cast(s.e.location_info.latitude AS DOUBLE)   AS latitude,
    try_cast(s.e.location_info.longitude AS DOUBLE)  AS longitude,
    s.e.location_info.time_zone                      AS time_zone,
    st.raw::JSON                                   AS raw,  -- valid: only rows that parsed get here
    getvariable('synced_at')                       AS synced_at
FROM _staged s
JOIN auth0_staging.login_events st ON st.rowid = s.staged_row
LEFT JOIN auth0.log_event_types t ON t.code = s.e.type
WHERE s.log_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM auth0.login_events x WHERE x.log_id = s.log_id)
  -- a log_id staged twice lands once
  AND s.staged_row IN (SELECT min(staged_row) FROM _staged GROUP BY log_id)
  -- users synced without logins: only what marks a user deleted (loads/users.sql step 3) is kept
  AND (NOT coalesce(getvariable('user_deletions_only'), false) OR t.category = 'user_deleted');
-- No ORDER BY (sorting millions of raw events would spill): a run's events land in staging order,
-- which is log_id order except when a backlog was read in parallel lanes (auth0/logs.py).

DROP TABLE _staged;
