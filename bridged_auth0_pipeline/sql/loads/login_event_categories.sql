-- Stored events take the current seed's description and category, as loads/login_events.sql gives
-- new ones (an unknown type is 'other'). Run by store/migrations.py when the seed has changed.
UPDATE auth0.login_events AS e
SET type_description = t.description,
    category = coalesce(t.category, 'other')
FROM (SELECT DISTINCT type FROM auth0.login_events) AS k
LEFT JOIN auth0.log_event_types AS t ON t.code = k.type
WHERE e.type = k.type
  AND (e.category IS DISTINCT FROM coalesce(t.category, 'other') OR e.type_description IS DISTINCT FROM t.description);
