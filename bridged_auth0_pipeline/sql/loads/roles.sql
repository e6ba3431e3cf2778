-- Bring auth0.roles and auth0.user_roles in line with the last roles extraction (a full listing).
-- Only differences are written, so a run that changed nothing rewrites nothing. Variables: synced_at.
CREATE OR REPLACE TEMP TABLE _roles AS
SELECT DISTINCT ON (id) j->>'id' AS id, j->>'name' AS name, j->>'description' AS description
FROM (SELECT try_cast(raw AS JSON) AS j FROM auth0_staging.roles) AS s
WHERE (j->>'id') IS NOT NULL AND (j->>'name') IS NOT NULL;

CREATE OR REPLACE TEMP TABLE _user_roles AS
SELECT DISTINCT m.user_id, m.role_id, r.name AS role_name
FROM auth0_staging.role_members m JOIN _roles r ON r.id = m.role_id;

DELETE FROM auth0.roles AS t
WHERE NOT EXISTS (SELECT 1 FROM _roles s WHERE s.id = t.id AND s.name = t.name AND s.description IS NOT DISTINCT FROM t.description);
INSERT INTO auth0.roles BY NAME
SELECT s.*, getvariable('synced_at') AS synced_at FROM _roles s
WHERE NOT EXISTS (SELECT 1 FROM auth0.roles t WHERE t.id = s.id);

DELETE FROM auth0.user_roles AS t
WHERE NOT EXISTS (SELECT 1 FROM _user_roles s WHERE s.user_id = t.user_id AND s.role_id = t.role_id AND s.role_name = t.role_name);
INSERT INTO auth0.user_roles BY NAME
SELECT s.*, getvariable('synced_at') AS synced_at FROM _user_roles s
WHERE NOT EXISTS (SELECT 1 FROM auth0.user_roles t WHERE t.user_id = s.user_id AND t.role_id = s.role_id);

DROP TABLE _roles;
DROP TABLE _user_roles;
