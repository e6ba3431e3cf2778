-- Replace auth0.connections with the last connections extraction (a full listing), each with the
-- method type its strategy stands for (auth0.identity_providers). Skipped by the caller when the
-- extraction could not read connections (no read:connections scope): the stored rows stay.
-- Variables: synced_at.
CREATE OR REPLACE TEMP TABLE _connections AS
SELECT DISTINCT ON (connection_id)
       j->>'id' AS connection_id, j->>'name' AS name, j->>'strategy' AS strategy, p.method_type,
       CAST(j->'enabled_clients' AS VARCHAR[]) AS enabled_clients
FROM (SELECT try_cast(raw AS JSON) AS j FROM auth0_staging.connections) AS s
LEFT JOIN auth0.identity_providers AS p ON p.provider = s.j->>'strategy'
WHERE (j->>'id') IS NOT NULL AND (j->>'name') IS NOT NULL;

DELETE FROM auth0.connections AS t
WHERE NOT EXISTS (SELECT 1 FROM _connections s
                  WHERE s.connection_id = t.connection_id AND s.name = t.name AND s.strategy IS NOT DISTINCT FROM t.strategy
                    AND s.method_type IS NOT DISTINCT FROM t.method_type
                    AND s.enabled_clients IS NOT DISTINCT FROM t.enabled_clients);
INSERT INTO auth0.connections BY NAME
SELECT s.*, getvariable('synced_at') AS synced_at FROM _connections s
WHERE NOT EXISTS (SELECT 1 FROM auth0.connections t WHERE t.connection_id = s.connection_id);

DROP TABLE _connections;
