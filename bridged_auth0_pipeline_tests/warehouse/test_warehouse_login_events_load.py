"""The login events load (sql/loads/login_events.sql) on staged text as the API might send it: each
log_id lands once, typed; what cannot be an event is rejected with its text and the reason."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from bridged_auth0_pipeline.store.loads import run_load
from bridged_auth0_pipeline.store.migrations import apply_migrations

LOGIN = {
    "log_id": "90020261101000000000000000000000000000000000000000000001", "date": "2026-11-01T10:00:00.123Z",
    "type": "s", "user_id": "auth0|ada", "isMobile": False, "details": {"prompts": []},
    "location_info": {"country_code": "GB", "city_name": "London", "latitude": 51.5, "longitude": "-0.12"},
}
STAGED = [
    json.dumps(LOGIN),
    json.dumps({**LOGIN, "user_id": "auth0|second-copy"}),  # the same log_id again: lands once, the first
    json.dumps({"log_id": "900-odd-date", "date": "yesterday-ish", "type": "brand_new_type_2027"}),
    '{"log_id": "900-cut-short", "date": "2026-11-0',
    '["an", "array"]',
    '{"date": "2026-11-01T10:00:00.000Z", "type": "f"}',
]


def _load(con: duckdb.DuckDBPyConnection) -> None:
    run_load(con, "loads/login_events.sql", synced_at=datetime.now(timezone.utc))


def test_each_log_id_lands_once_typed_and_the_rest_is_rejected_with_a_reason(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        apply_migrations(con)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("INSERT INTO auth0_staging.login_events SELECT NULL, unnest(?::VARCHAR[])", [STAGED])
        _load(con)
        _load(con)  # the same staging again (a retried step) adds nothing

        events = con.execute(
            "SELECT log_id, occurred_at, user_id, category, is_mobile, country_code, latitude, longitude, raw->>'type' "
            "FROM auth0.login_events ORDER BY log_id"
        ).fetchall()
        assert events == [
            ("900-odd-date", None, None, "other", None, None, None, None, "brand_new_type_2027"),
            (LOGIN["log_id"], datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=timezone.utc), "auth0|ada", "login_success",
             False, "GB", 51.5, -0.12, "s"),
        ]
        rejected = con.execute("SELECT record_key, reason, raw FROM auth0._rejected ORDER BY ALL").fetchall()

    once = [
        ("900-odd-date", "field date cannot be typed as TIMESTAMPTZ: yesterday-ish", STAGED[2]),
        (None, "invalid JSON", STAGED[3]),
        (None, "missing log_id", STAGED[5]),
        (None, "not a JSON object", STAGED[4]),
    ]
    # The second load rejects the unreadable rows again (they are still staged), but not the odd
    # date: that event already landed.
    assert sorted(rejected, key=str) == sorted(once + once[1:], key=str)


def test_stored_events_take_the_category_of_a_changed_seed(tmp_path):
    """A warehouse built under an older seed, which called `s` 'other': opening it with today's seed
    re-categorises the stored events, so the playbooks count them as logins."""
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        apply_migrations(con)
        con.execute("INSERT INTO auth0_staging.login_events SELECT NULL, ?", [json.dumps(LOGIN)])
        _load(con)
        con.execute("UPDATE auth0.log_event_types SET category = 'other', description = 'old' WHERE code = 's'")
        con.execute("UPDATE auth0.login_events SET category = 'other', type_description = 'old'")
    with duckdb.connect(path) as con:
        assert apply_migrations(con) == []
        seed = con.execute("SELECT category, description FROM auth0.log_event_types WHERE code = 's'").fetchone()
        stored = con.execute("SELECT category, type_description FROM auth0.login_events").fetchall()
    assert seed[0] == "login_success"
    assert stored == [seed]
