"""A full snapshot deletes the users it lacks, unless it holds a line that could not be read: that
line may be any user, so nobody is deleted and the checks report the snapshot as not whole."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from bridged_auth0_pipeline.store.loads import run_load
from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_user_lines
from bridged_auth0_pipeline.warehouse.checks import SQL_CHECKS


def _user(name: str) -> bytes:
    return json.dumps({"user_id": f"auth0|{name}", "email": f"{name}@example.com",
                       "updated_at": "2026-11-01T10:00:00.000Z",
                       "identities": [{"provider": "auth0", "user_id": name, "connection": "db"}]}).encode()


def _full_sync(con: duckdb.DuckDBPyConnection, lines: list[bytes], spool) -> None:
    with extraction_transaction(con, "users", "full") as extraction:
        stage_user_lines(con, iter(lines), extraction, spool)
    run_load(con, "loads/users.sql", synced_at=datetime.now(timezone.utc),
             variables={"full_snapshot": True, "user_filter": "all", "active_days": 30, "filter_roles": []})


def _live(con) -> set[str]:
    return {row[0] for row in con.execute("SELECT user_id FROM auth0.users WHERE deleted_at IS NULL").fetchall()}


def _violations(con, check: str) -> int:
    sql = next(sql for _, name, _, sql in SQL_CHECKS if name == check)
    return con.execute(sql).fetchone()[0]


def test_a_snapshot_with_an_unreadable_line_deletes_nobody(tmp_path):
    spool = tmp_path / "users.ndjson"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        apply_migrations(con)
        _full_sync(con, [_user("ada"), _user("grace"), _user("linus")], spool)
        assert _live(con) == {"auth0|ada", "auth0|grace", "auth0|linus"}

        # linus's line arrives cut short: it is rejected, and may be anyone, so no one is deleted.
        _full_sync(con, [_user("ada"), _user("grace"), _user("linus")[:40]], spool)
        assert _live(con) == {"auth0|ada", "auth0|grace", "auth0|linus"}
        assert con.execute("SELECT getvariable('users_deleted')").fetchone()[0] == 0
        assert _violations(con, "full_snapshot_count_matches") == 1, "the snapshot is reported as not whole"
        assert con.execute("SELECT reason FROM auth0._rejected").fetchall() == [("invalid JSON",)]

        # A whole snapshot that lacks linus deletes him, as before.
        _full_sync(con, [_user("ada"), _user("grace")], spool)
        assert _live(con) == {"auth0|ada", "auth0|grace"}
        assert _violations(con, "full_snapshot_count_matches") == 0
