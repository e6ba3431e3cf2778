-- Which log event types are evidence about a user's MFA factors: 'enrolled' (the event needed an
-- enrolled factor: an enrollment finished, an MFA challenge or a recovery code passed),
-- 'unenrolled' (a factor was removed), NULL for the rest (a code merely sent proves nothing).
-- Seeded from sql/seeds/log_event_types.csv like the rest of the table: auth0.user_auth_methods and
-- `bridged-auth0 user` both read it there instead of each listing the codes.
ALTER TABLE auth0.log_event_types ADD COLUMN mfa_evidence VARCHAR;
