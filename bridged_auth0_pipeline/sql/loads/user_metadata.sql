-- Keep auth0.user_metadata in step with the metadata JSON held in auth0.users: one row per top-level
-- key, value kept as JSON, so any customer's schema fits. Derived entirely from auth0.users; a row's
-- synced_at is its user's. Only users written since the last build (synced_at newer than every
-- metadata row's) are rebuilt, so a run that changed nothing rewrites nothing. With include_metadata
-- false (BRIDGED_INCLUDE_METADATA=no) the table is emptied, deleted users' keys included, and stays empty.
DELETE FROM auth0.user_metadata WHERE NOT getvariable('include_metadata');

SET VARIABLE metadata_built_until = (SELECT coalesce(max(synced_at), '-infinity'::TIMESTAMPTZ) FROM auth0.user_metadata);

DELETE FROM auth0.user_metadata
WHERE user_id IN (SELECT user_id FROM auth0.users WHERE synced_at > getvariable('metadata_built_until'));

INSERT INTO auth0.user_metadata BY NAME
SELECT u.user_id, m.source, m.entry.key AS key, coalesce(m.entry.value, 'null'::JSON) AS value, u.synced_at
FROM (SELECT * FROM auth0.users WHERE synced_at > getvariable('metadata_built_until') AND getvariable('include_metadata')) u,
     LATERAL (
         SELECT 'user_metadata' AS source, unnest(map_entries(try_cast(u.user_metadata AS MAP(VARCHAR, JSON)))) AS entry
         UNION ALL
         SELECT 'app_metadata', unnest(map_entries(try_cast(u.app_metadata AS MAP(VARCHAR, JSON))))
     ) AS m;
