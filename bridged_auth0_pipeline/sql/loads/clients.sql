-- Replace auth0.clients with the last clients extraction (a full listing; credentials were dropped
-- on arrival). Skipped by the caller when clients could not be read (no read:clients scope).
-- Variables: synced_at.
CREATE OR REPLACE TEMP TABLE _clients AS
SELECT DISTINCT ON (client_id)
       j->>'client_id' AS client_id, j->>'name' AS name, j->>'app_type' AS app_type,
       try_cast(j->>'is_first_party' AS BOOLEAN) AS is_first_party
FROM (SELECT try_cast(raw AS JSON) AS j FROM auth0_staging.clients) AS s
WHERE (j->>'client_id') IS NOT NULL;

DELETE FROM auth0.clients AS t
WHERE NOT EXISTS (SELECT 1 FROM _clients s
                  WHERE s.client_id = t.client_id AND s.name IS NOT DISTINCT FROM t.name
                    AND s.app_type IS NOT DISTINCT FROM t.app_type AND s.is_first_party IS NOT DISTINCT FROM t.is_first_party);
INSERT INTO auth0.clients BY NAME
SELECT s.*, getvariable('synced_at') AS synced_at FROM _clients s
WHERE NOT EXISTS (SELECT 1 FROM auth0.clients t WHERE t.client_id = s.client_id);

DROP TABLE _clients;
