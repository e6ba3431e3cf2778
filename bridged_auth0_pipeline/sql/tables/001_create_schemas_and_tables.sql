-- Warehouse schema for the Auth0 sync. Applied once by the migration runner
-- (bridged_auth0_pipeline/store/migrations.py), which records it in auth0._schema_migrations.
-- No PRIMARY KEY constraints: DuckDB checks them eagerly inside a transaction that deletes and
-- re-inserts a key, so keys are kept unique by the loads and verified by asset checks instead.

CREATE SCHEMA IF NOT EXISTS auth0;
CREATE SCHEMA IF NOT EXISTS auth0_staging;
CREATE SCHEMA IF NOT EXISTS playbooks;

-- One row per Auth0 user_id. deleted_at: set from an `sdu` log event or when a full snapshot no
-- longer contains the user. filtered_out_at: set when the user stops matching BRIDGED_USER_FILTER.
CREATE TABLE auth0.users (
    user_id          VARCHAR NOT NULL,
    email            VARCHAR,
    email_verified   BOOLEAN,
    username         VARCHAR,
    phone_number     VARCHAR,
    phone_verified   BOOLEAN,
    name             VARCHAR,
    nickname         VARCHAR,
    given_name       VARCHAR,
    family_name      VARCHAR,
    picture          VARCHAR,
    created_at       TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ,
    last_login       TIMESTAMPTZ,
    last_ip          VARCHAR,
    logins_count     BIGINT,
    blocked          BOOLEAN,
    multifactor      VARCHAR[],
    user_metadata    JSON,
    app_metadata     JSON,
    deleted_at       TIMESTAMPTZ,
    filtered_out_at  TIMESTAMPTZ,
    source_hash      VARCHAR,            -- md5 of the record as Auth0 sent it: unchanged users are not rewritten
    synced_at        TIMESTAMPTZ NOT NULL
);

-- One row per entry of a user's `identities` array. identity_user_id is text whatever JSON type
-- Auth0 sent (github sends integers). is_primary: the first identity, the one user_id is built from.
-- Identity-provider tokens are removed before anything is stored.
CREATE TABLE auth0.user_identities (
    user_id           VARCHAR NOT NULL,
    provider          VARCHAR NOT NULL,
    identity_user_id  VARCHAR NOT NULL,
    connection        VARCHAR,
    is_social         BOOLEAN,
    is_primary        BOOLEAN NOT NULL,
    profile_data      JSON,
    synced_at         TIMESTAMPTZ NOT NULL
);

-- One row per top-level key of user_metadata / app_metadata; value keeps the JSON as sent.
CREATE TABLE auth0.user_metadata (
    user_id    VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,   -- 'user_metadata' | 'app_metadata'
    key        VARCHAR NOT NULL,
    value      JSON,
    synced_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE auth0.roles (
    id           VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    description  VARCHAR,
    synced_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE auth0.user_roles (
    user_id    VARCHAR NOT NULL,
    role_id    VARCHAR NOT NULL,
    role_name  VARCHAR NOT NULL,
    synced_at  TIMESTAMPTZ NOT NULL
);

-- Reference data: every tenant log event type with the category the playbooks group it under.
CREATE TABLE auth0.log_event_types (
    code         VARCHAR NOT NULL,
    description  VARCHAR,
    category     VARCHAR NOT NULL   -- login_success | login_failure | signup | logout | mfa | user_deleted | other
);

-- One row per tenant log event (every type, unknown ones too), raw event kept as JSON.
CREATE TABLE auth0.login_events (
    log_id            VARCHAR NOT NULL,
    occurred_at       TIMESTAMPTZ,
    type              VARCHAR,
    type_description  VARCHAR,
    category          VARCHAR NOT NULL,
    description       VARCHAR,
    user_id           VARCHAR,
    user_name         VARCHAR,
    client_id         VARCHAR,
    client_name       VARCHAR,
    connection        VARCHAR,
    connection_id     VARCHAR,
    strategy          VARCHAR,
    strategy_type     VARCHAR,
    ip                VARCHAR,
    user_agent        VARCHAR,
    hostname          VARCHAR,
    is_mobile         BOOLEAN,
    country_code      VARCHAR,
    country_name      VARCHAR,
    city_name         VARCHAR,
    latitude          DOUBLE,
    longitude         DOUBLE,
    time_zone         VARCHAR,
    raw               JSON NOT NULL,
    synced_at         TIMESTAMPTZ NOT NULL
);

-- Cursors, written in the same transaction as the rows they cover.
CREATE TABLE auth0._sync_state (
    stream      VARCHAR NOT NULL,   -- 'users' | 'login_events' | 'roles'
    cursor      VARCHAR,
    details     JSON,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Records that could not be typed: kept for inspection, reported by asset checks.
CREATE TABLE auth0._rejected (
    source       VARCHAR NOT NULL,   -- 'users' | 'login_events' | 'roles'
    record_key   VARCHAR,
    reason       VARCHAR NOT NULL,
    raw          VARCHAR,
    rejected_at  TIMESTAMPTZ NOT NULL
);

-- Staging: what the extraction assets fetched in their last run, as raw JSON, before typing.
CREATE TABLE auth0_staging.users (user_id VARCHAR, raw VARCHAR NOT NULL);
CREATE TABLE auth0_staging.login_events (log_id VARCHAR, raw VARCHAR NOT NULL);
CREATE TABLE auth0_staging.roles (id VARCHAR, raw VARCHAR NOT NULL);
CREATE TABLE auth0_staging.role_members (role_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL);
-- One row per stream: how the last extraction ran (full snapshot or incremental window).
CREATE TABLE auth0_staging.extractions (
    stream        VARCHAR NOT NULL,
    mode          VARCHAR NOT NULL,   -- 'full' | 'incremental'
    high_water    VARCHAR,            -- users: max updated_at seen; login_events: last log_id
    api_total     BIGINT,             -- what the API reported, when it reports a total
    details       JSON,
    extracted_at  TIMESTAMPTZ NOT NULL
);
