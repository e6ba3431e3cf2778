-- Bring auth0.organizations, organization_members and organization_member_roles in line with the
-- last organizations extraction (a full listing; members carried forward when not re-read).
-- Only differences are written. An organization no longer listed keeps its row with deleted_at,
-- and loses its members. Variables: synced_at.
CREATE OR REPLACE TEMP TABLE _organizations AS
SELECT DISTINCT ON (org_id) j->>'id' AS org_id, j->>'name' AS name, j->>'display_name' AS display_name,
       j->'branding' AS branding, j->'metadata' AS metadata
FROM (SELECT try_cast(raw AS JSON) AS j FROM auth0_staging.organizations) AS s
WHERE (j->>'id') IS NOT NULL AND (j->>'name') IS NOT NULL;

UPDATE auth0.organizations AS t
SET name = s.name, display_name = s.display_name, branding = s.branding, metadata = s.metadata,
    deleted_at = NULL, synced_at = getvariable('synced_at')
FROM _organizations AS s
WHERE s.org_id = t.org_id
  AND (t.deleted_at IS NOT NULL OR t.name IS DISTINCT FROM s.name OR t.display_name IS DISTINCT FROM s.display_name
       OR t.branding::VARCHAR IS DISTINCT FROM s.branding::VARCHAR OR t.metadata::VARCHAR IS DISTINCT FROM s.metadata::VARCHAR);
UPDATE auth0.organizations AS t SET deleted_at = getvariable('synced_at')
WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM _organizations s WHERE s.org_id = t.org_id);
INSERT INTO auth0.organizations BY NAME
SELECT s.*, getvariable('synced_at') AS synced_at FROM _organizations s
WHERE NOT EXISTS (SELECT 1 FROM auth0.organizations t WHERE t.org_id = s.org_id);

CREATE OR REPLACE TEMP TABLE _members AS
SELECT DISTINCT m.org_id, m.user_id FROM auth0_staging.organization_members m JOIN _organizations o USING (org_id);
CREATE OR REPLACE TEMP TABLE _member_roles AS
SELECT DISTINCT r.org_id, r.user_id, r.role_id FROM auth0_staging.organization_member_roles r JOIN _members USING (org_id, user_id);

DELETE FROM auth0.organization_members AS t
WHERE NOT EXISTS (SELECT 1 FROM _members s WHERE s.org_id = t.org_id AND s.user_id = t.user_id);
INSERT INTO auth0.organization_members BY NAME
SELECT s.*, getvariable('synced_at') AS synced_at FROM _members s
WHERE NOT EXISTS (SELECT 1 FROM auth0.organization_members t WHERE t.org_id = s.org_id AND t.user_id = s.user_id);

DELETE FROM auth0.organization_member_roles AS t
WHERE NOT EXISTS (SELECT 1 FROM _member_roles s WHERE s.org_id = t.org_id AND s.user_id = t.user_id AND s.role_id = t.role_id);
INSERT INTO auth0.organization_member_roles BY NAME
SELECT s.*, getvariable('synced_at') AS synced_at FROM _member_roles s
WHERE NOT EXISTS (SELECT 1 FROM auth0.organization_member_roles t
                  WHERE t.org_id = s.org_id AND t.user_id = s.user_id AND t.role_id = s.role_id);

DROP TABLE _organizations;
DROP TABLE _members;
DROP TABLE _member_roles;
