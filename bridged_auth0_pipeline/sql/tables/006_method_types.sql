-- Reference data (sql/seeds/method_types.csv, reseeded by the migration runner): the four method
-- types an identity, a connection or a log event can have. decided_by says how an identity gets it
-- when its connection is unknown: 'provider' (the provider alone settles it: auth0 → database,
-- sms/email → passwordless, by auth0.identity_providers) or 'is_social' (Auth0's isSocial flag on
-- the identity: social or enterprise). words: what a support agent reads. One table for the views
-- and `bridged-auth0 user`, instead of each listing the types.
CREATE TABLE auth0.method_types (
    method_type  VARCHAR NOT NULL,
    decided_by   VARCHAR NOT NULL,
    words        VARCHAR NOT NULL
);
