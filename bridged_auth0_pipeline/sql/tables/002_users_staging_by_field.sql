-- Users staging gets one column per field, filled by DuckDB's own JSON reader (read_json) from the
-- extraction's NDJSON: one pass in C++ instead of parsing every record in Python and again in SQL.
-- Values stay as received (text, or JSON for structured fields); the users load types them, so a
-- value that cannot be typed is still reported instead of failing the read.
DROP TABLE auth0_staging.users;
CREATE TABLE auth0_staging.users (
    user_id          JSON,      -- JSON so that a non-text id (a number) can be told apart and rejected
    email            VARCHAR,
    email_verified   VARCHAR,
    username         VARCHAR,
    phone_number     VARCHAR,
    phone_verified   VARCHAR,
    name             VARCHAR,
    nickname         VARCHAR,
    given_name       VARCHAR,
    family_name      VARCHAR,
    picture          VARCHAR,
    created_at       VARCHAR,
    updated_at       VARCHAR,
    last_login       VARCHAR,
    last_ip          VARCHAR,
    logins_count     VARCHAR,
    blocked          VARCHAR,
    multifactor      JSON,
    identities       JSON,
    user_metadata    JSON,
    app_metadata     JSON,
    raw              VARCHAR    -- only for a line that is not a JSON object with a text user_id: the line
);
-- The previous extraction's record is for the old table: the next run stages afresh.
DELETE FROM auth0_staging.extractions WHERE stream = 'users';
