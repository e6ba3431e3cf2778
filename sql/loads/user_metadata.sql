-- Rebuild auth0.user_metadata from the metadata JSON held in auth0.users: one row per top-level
-- key, value kept as JSON, so any customer's schema fits. Derived entirely from auth0.users, so it
-- can never drift from it; synced_at is the user's, so a run that changed nothing rewrites nothing new.
DELETE FROM auth0.user_metadata;

INSERT INTO auth0.user_metadata BY NAME
SELECT u.user_id, m.source, m.entry.key AS key, coalesce(m.entry.value, 'null'::JSON) AS value, u.synced_at
FROM auth0.users u,
     LATERAL (
         SELECT 'user_metadata' AS source, unnest(map_entries(try_cast(u.user_metadata AS MAP(VARCHAR, JSON)))) AS entry
         UNION ALL
         SELECT 'app_metadata', unnest(map_entries(try_cast(u.app_metadata AS MAP(VARCHAR, JSON))))
     ) AS m;
