-- Organizations (B2B customers of the tenant), their members and members' roles in them; the
-- tenant's connections and applications (clients), which log events name only by id or name.
-- No credential is ever stored: clients' secrets and keys and connections' options are dropped on
-- arrival (auth0/records.py: without_credentials).

-- One row per organization. deleted_at: set when the organization list no longer contains it.
CREATE TABLE auth0.organizations (
    org_id        VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    display_name  VARCHAR,
    branding      JSON,
    metadata      JSON,
    synced_at     TIMESTAMPTZ NOT NULL,
    deleted_at    TIMESTAMPTZ
);

CREATE TABLE auth0.organization_members (
    org_id     VARCHAR NOT NULL,
    user_id    VARCHAR NOT NULL,
    synced_at  TIMESTAMPTZ NOT NULL
);

-- A member's roles within the organization (not the tenant-wide roles of auth0.user_roles).
CREATE TABLE auth0.organization_member_roles (
    org_id     VARCHAR NOT NULL,
    user_id    VARCHAR NOT NULL,
    role_id    VARCHAR NOT NULL,
    synced_at  TIMESTAMPTZ NOT NULL
);

-- method_type: from the strategy, by auth0.identity_providers (NULL for a strategy it does not know).
CREATE TABLE auth0.connections (
    connection_id    VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    strategy         VARCHAR,
    method_type      VARCHAR,           -- database | passwordless | social | enterprise
    enabled_clients  VARCHAR[],         -- client_ids of the applications that may use it
    synced_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE auth0.clients (
    client_id       VARCHAR NOT NULL,
    name            VARCHAR,
    app_type        VARCHAR,            -- spa | native | regular_web | non_interactive | ...
    is_first_party  BOOLEAN,
    synced_at       TIMESTAMPTZ NOT NULL
);

-- Reference data (sql/seeds/identity_providers.csv, reseeded by the migration runner): identity
-- provider / connection strategy → method type and the label support agents read. One table for
-- the views, auth0.connections and `bridged-auth0 user`.
CREATE TABLE auth0.identity_providers (
    provider     VARCHAR NOT NULL,
    method_type  VARCHAR NOT NULL,
    label        VARCHAR NOT NULL
);

CREATE TABLE auth0_staging.organizations (id VARCHAR, raw VARCHAR NOT NULL);
CREATE TABLE auth0_staging.organization_members (org_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL);
CREATE TABLE auth0_staging.organization_member_roles (org_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, role_id VARCHAR NOT NULL);
CREATE TABLE auth0_staging.connections (id VARCHAR, raw VARCHAR NOT NULL);
CREATE TABLE auth0_staging.clients (id VARCHAR, raw VARCHAR NOT NULL);
