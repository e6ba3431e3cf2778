"""Users reach staging as NDJSON lines read by DuckDB's read_json: lines that are not a user record
are rejected whole with their text, never dropped, and the spool file never outlives the step."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb
import pytest

from bridged_auth0_pipeline.store.loads import run_load
from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.staging import extraction_transaction, read_extraction, stage_user_lines

GOOD = {"user_id": "auth0|good", "email": "good@example.com", "updated_at": "2026-01-02T03:04:05.678Z",
        "logins_count": 3, "identities": [{"provider": "auth0", "user_id": "good", "connection": "db"}]}
LINES = [
    json.dumps(GOOD).encode(),
    b'{"user_id": "auth0|cut-short", "email": "cut@exa',
    b'["an", "array"]',
    b'{"email": "no-id@example.com"}',
    b'{"user_id": 12345, "email": "number-id@example.com"}',
    json.dumps({**GOOD, "user_id": "auth0|older", "updated_at": "2025-01-01T00:00:00.000Z"}).encode(),
]


def _load(con: duckdb.DuckDBPyConnection) -> None:
    run_load(con, "loads/users.sql", synced_at=datetime.now(timezone.utc),
             variables={"full_snapshot": True, "user_filter": "all", "active_days": 30, "filter_roles": []})


def test_lines_that_are_not_users_are_rejected_whole(tmp_path):
    spool = tmp_path / "warehouse.duckdb.users-staging.ndjson"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        apply_migrations(con)
        with extraction_transaction(con, "users", "full") as extraction:
            stage_user_lines(con, iter(LINES), extraction, spool)
        assert not spool.exists()
        staged = read_extraction(con, "users")
        assert staged.records == len(LINES)
        assert staged.high_water == "2026-01-02T03:04:05.678Z"
        _load(con)
        assert con.execute("SELECT user_id, email, logins_count FROM auth0.users ORDER BY user_id").fetchall() == [
            ("auth0|good", "good@example.com", 3), ("auth0|older", "good@example.com", 3)]
        rejected = set(con.execute("SELECT record_key, reason, raw FROM auth0._rejected").fetchall())
    assert rejected == {
        (None, "not a JSON object", '["an", "array"]'),
        (None, "invalid JSON", '{"user_id": "auth0|cut-short", "email": "cut@exa'),
        (None, "missing or non-text user_id", '{"email": "no-id@example.com"}'),
        ("12345", "missing or non-text user_id", '{"user_id": 12345, "email": "number-id@example.com"}'),
    }


def test_a_failed_staging_keeps_the_previous_one_and_removes_the_spool(tmp_path):
    spool = tmp_path / "warehouse.duckdb.users-staging.ndjson"

    def lines_then_failure():
        yield json.dumps(GOOD).encode()
        raise ConnectionError("download cut")

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        apply_migrations(con)
        with extraction_transaction(con, "users", "full") as extraction:
            stage_user_lines(con, iter(LINES[:1]), extraction, spool)
        with pytest.raises(ConnectionError), extraction_transaction(con, "users", "incremental") as extraction:
            stage_user_lines(con, lines_then_failure(), extraction, spool)
        assert not spool.exists()
        assert read_extraction(con, "users").mode == "full"
        assert con.execute("SELECT user_id->>'$' FROM auth0_staging.users").fetchall() == [("auth0|good",)]
