-- auth0.login_events_enriched — every tenant log event with its application's name and type and
-- its connection's method type (auth0.clients, auth0.connections).
-- Grain: one row per auth0.login_events row; key log_id. The raw JSON is left out.
-- Log events name the application and connection only by id or name; the names come from
-- auth0.clients / auth0.connections as of the last sync, else from the event itself.
CREATE OR REPLACE VIEW auth0.login_events_enriched AS
WITH thresholds AS (
    SELECT
        -- the values Auth0 puts in a log event's strategy_type; anything else is not trusted
        list(method_type) AS known_method_types
    FROM auth0.method_types
)

SELECT
    e.* EXCLUDE (raw, synced_at),
    coalesce(cl.name, e.client_name) AS application_name,
    cl.app_type AS application_type,
    cl.is_first_party AS application_is_first_party,
    -- the connection's (by id, else by name), else the event's own strategy_type, else its strategy's
    coalesce(
        by_id.method_type,
        by_name.method_type,
        CASE WHEN list_contains(t.known_method_types, lower(e.strategy_type)) THEN lower(e.strategy_type) END,
        p.method_type
    ) AS connection_method_type
FROM auth0.login_events AS e
CROSS JOIN thresholds AS t
LEFT JOIN auth0.clients AS cl ON cl.client_id = e.client_id
LEFT JOIN auth0.connections AS by_id ON by_id.connection_id = e.connection_id
LEFT JOIN auth0.connections AS by_name ON e.connection_id IS NULL AND by_name.name = e.connection
LEFT JOIN auth0.identity_providers AS p ON p.provider = e.strategy
