"""Which log events delete a user is one rule, the seed's `user_deleted` category
(sql/seeds/log_event_types.csv): the users load marks the user deleted, and the role and
organization member planners re-read their members, for exactly the types the seed classifies so."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.extraction import organizations, roles
from bridged_auth0_pipeline.store.loads import run_load
from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_user_lines
from bridged_auth0_pipeline.store.state import StreamState

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
USER = "auth0|ada"


@pytest.fixture
def con():
    con = duckdb.connect()
    apply_migrations(con)
    yield con
    con.close()


def _users_load(con, lines: list[bytes], spool, full: bool) -> None:
    with extraction_transaction(con, "users", "full" if full else "incremental") as extraction:
        stage_user_lines(con, iter(lines), extraction, spool)
    run_load(con, "loads/users.sql", synced_at=NOW,
             variables={"full_snapshot": full, "user_filter": "all", "active_days": 30, "filter_roles": []})


def _stored_event(con, type_: str) -> None:
    """An event of `type_` for USER, logged after the user's last update, as the login_events load stores it."""
    raw = json.dumps({"log_id": "900", "type": type_, "user_id": USER, "date": "2026-11-20T10:00:00.000Z"})
    con.execute("INSERT INTO auth0.login_events (log_id, occurred_at, type, category, user_id, raw, synced_at) "
                "VALUES ('900', '2026-11-20T10:00:00Z', ?, 'other', ?, ?, now())", [type_, USER, raw])


def _classify(con, code: str, category: str) -> None:
    con.execute("UPDATE auth0.log_event_types SET category = ? WHERE code = ?", [category, code])


# (event type, the seed changed first, deleted?)
CASES = [
    ("sdu", None, True),  # as shipped: sdu is user_deleted
    ("s", None, False),
    ("sdu", ("sdu", "other"), False),  # the seed no longer calls sdu a deletion
    ("scu", ("scu", "user_deleted"), True),  # the seed calls another type a deletion
]


@pytest.mark.parametrize(("type_", "seed_change", "deleted"), CASES)
def test_the_users_load_deletes_for_the_seeds_user_deleted_types(con, tmp_path, type_, seed_change, deleted):
    user = json.dumps({"user_id": USER, "updated_at": "2026-11-01T10:00:00.000Z",
                       "identities": [{"provider": "auth0", "user_id": "ada", "connection": "db"}]}).encode()
    _users_load(con, [user], tmp_path / "users.ndjson", full=True)
    if seed_change:
        _classify(con, *seed_change)
    _stored_event(con, type_)
    _users_load(con, [], tmp_path / "users.ndjson", full=False)
    assert con.execute("SELECT deleted_at FROM auth0.users WHERE user_id = ?", [USER]).fetchone()[0] == (
        datetime(2026, 11, 20, 10, tzinfo=timezone.utc) if deleted else None)


@pytest.mark.parametrize("planner", [roles.plan_member_refresh, organizations.plan_member_refresh],
                         ids=["roles", "organizations"])
@pytest.mark.parametrize("staged", [True, False], ids=["staged event", "stored event"])
@pytest.mark.parametrize(("type_", "seed_change", "deleted"), CASES)
def test_the_member_planners_reread_for_the_seeds_user_deleted_types(con, planner, staged, type_, seed_change, deleted):
    if seed_change:
        _classify(con, *seed_change)
    if staged:  # this run's events, not loaded yet
        raw = json.dumps({"log_id": "900", "type": type_, "user_id": USER})
        con.execute("INSERT INTO auth0_staging.login_events VALUES ('900', ?)", [raw])
    else:
        _stored_event(con, type_)
    state = StreamState(cursor="100", details={"refreshed_at": (NOW - timedelta(days=1)).isoformat()})
    # Nothing else calls for a re-read: no roles or organizations stored or listed, users not selected.
    reason = planner(con, state, [], SyncSettings(data_objects=("logins",)), NOW)
    assert (reason is not None and reason.startswith("1 ")) == deleted, reason
