"""The extraction planners on typed settings: what a run reads, and why, for every state it can meet.

Fast (no HTTP, an in-memory DuckDB): the end-to-end tests prove the same decisions through the sandbox.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.extraction import organizations
from bridged_auth0_pipeline.extraction.roles import plan_member_refresh
from bridged_auth0_pipeline.extraction.users import plan_users_extraction
from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.state import StreamState, write_state

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
WEEKLY = SyncSettings()  # full_sync_every_days = 7


def users_state(cursor="2026-11-30T11:00:00.000Z", metadata=True, last_full=NOW - timedelta(days=1)) -> StreamState:
    details = {"include_metadata": metadata, "last_full_at": last_full.isoformat() if last_full else None}
    return StreamState(cursor=cursor, details=details)


@pytest.mark.parametrize(("state", "settings", "expected"), [
    (StreamState(), WEEKLY, ("full", None, "first sync")),
    (users_state(metadata=False), WEEKLY, ("full", None, "BRIDGED_INCLUDE_METADATA changed")),
    (users_state(), SyncSettings(include_metadata=False), ("full", None, "BRIDGED_INCLUDE_METADATA changed")),
    (users_state(last_full=None), WEEKLY, ("full", None, "reconciliation due (every 7 days)")),
    (users_state(last_full=NOW - timedelta(days=7)), WEEKLY, ("full", None, "reconciliation due (every 7 days)")),
    (users_state(last_full=NOW - timedelta(days=2)), SyncSettings(full_sync_every_days=1),
     ("full", None, "reconciliation due (every 1 days)")),
    # Incremental: from the cursor minus the search index's lag (10 s).
    (users_state(), WEEKLY, ("incremental", "2026-11-30T10:59:50.000Z", "cursor")),
    (users_state(cursor="2026-11-30T11:00:00+01:00"), WEEKLY, ("incremental", "2026-11-30T09:59:50.000Z", "cursor")),
])
def test_plan_users_extraction(state, settings, expected):
    assert plan_users_extraction(state, settings, NOW) == expected


def following(since: datetime | None) -> StreamState:
    """The log stream's state: user deletions read from the log since `since`."""
    return StreamState(cursor="90", details={"mode": "user_deletions", **({"following_since": since.isoformat()} if since else {})})


@pytest.mark.parametrize(("log_state", "expected_mode"), [
    (None, "incremental"),  # logins never read (or before the log was read for deletions)
    (following(None), "incremental"),  # read since before this rule: no break known
    (following(NOW - timedelta(days=1)), "incremental"),  # since the last snapshot (its very run)
    (following(NOW - timedelta(days=2)), "incremental"),
    # A first read, or one past a retention gap, after the last snapshot: deletions in between are unseen.
    (following(NOW - timedelta(hours=1)), "full"),
])
def test_plan_users_extraction_takes_a_snapshot_when_deletions_may_be_missing(log_state, expected_mode):
    mode, _, why = plan_users_extraction(users_state(), WEEKLY, NOW, log_state)
    assert mode == expected_mode, why
    if mode == "full":
        assert why == f"user deletions are read from the log since {(NOW - timedelta(hours=1)).isoformat()}, after the last snapshot"


ROLES = [{"id": "rol_1", "name": "admin"}, {"id": "rol_2", "name": "billing"}]


@pytest.fixture
def con():
    con = duckdb.connect()
    apply_migrations(con)
    con.executemany("INSERT INTO auth0.roles VALUES (?, ?, NULL, now())", [(r["id"], r["name"]) for r in ROLES])
    yield con
    con.close()


def log_event(con, log_id: str, type_: str, path: str | None = None) -> None:
    raw = {"log_id": log_id, "type": type_, "date": "2026-11-30T11:30:00.000Z"}
    if path:
        raw["details"] = {"request": {"method": "post", "path": path}}
    con.execute("INSERT INTO auth0_staging.login_events VALUES (?, ?)", [log_id, json.dumps(raw)])


def refreshed(days_ago: float = 1, cursor: str | None = "100") -> StreamState:
    return StreamState(cursor=cursor, details={"refreshed_at": (NOW - timedelta(days=days_ago)).isoformat()})


@pytest.mark.parametrize(("events", "state", "settings", "roles", "reason"), [
    ([], StreamState(), WEEKLY, ROLES, "first sync"),
    ([], refreshed(), SyncSettings(data_objects=("users",)), ROLES,
     "login events are not synced (BRIDGED_DATA_OBJECTS), so role changes cannot be seen"),
    ([], refreshed(), WEEKLY, ROLES[:1], "the role list changed"),
    ([], refreshed(), WEEKLY, [{"id": "rol_1", "name": "owner"}, ROLES[1]], "the role list changed"),
    ([], refreshed(days_ago=7), WEEKLY, ROLES, "periodic refresh (every 7 days)"),
    ([], refreshed(), WEEKLY, ROLES, None),
    ([("101", "s", None), ("102", "sapi", "/api/v2/clients/abc")], refreshed(), WEEKLY, ROLES, None),
    ([("101", "sapi", "/api/v2/roles/rol_1/users")], refreshed(), WEEKLY, ROLES,
     "1 role assignments or user deletions in the log since the last refresh"),
    ([("101", "sapi", "/api/v2/users/auth0%7C1/roles"), ("102", "sdu", None)], refreshed(), WEEKLY, ROLES,
     "2 role assignments or user deletions in the log since the last refresh"),
    ([("101", "sapi", "/api/v2/users/auth0%7C1/identities")], refreshed(), WEEKLY, ROLES,
     "1 role assignments or user deletions in the log since the last refresh"),
    ([("101", "sapi", None)], refreshed(), WEEKLY, ROLES,  # a sapi without a path counts, to be safe
     "1 role assignments or user deletions in the log since the last refresh"),
    # Events at or before the cursor were seen by the last refresh.
    ([("100", "sdu", None), ("099", "sapi", "/api/v2/roles/rol_1/users")], refreshed(), WEEKLY, ROLES, None),
])
def test_plan_member_refresh(con, events, state, settings, roles, reason):
    for log_id, type_, path in events:
        log_event(con, log_id, type_, path)
    assert plan_member_refresh(con, state, roles, settings, NOW) == reason


ORGS = [{"id": "org_1"}, {"id": "org_2"}]
ORG_CHANGES = "organization changes or user deletions in the log since the last refresh"


@pytest.mark.parametrize(("events", "state", "users", "settings", "orgs", "reason"), [
    ([], StreamState(), users_state(), WEEKLY, ORGS, "first sync"),
    ([], refreshed(), users_state(), SyncSettings(data_objects=("users", "organizations")), ORGS,
     "login events are not synced (BRIDGED_DATA_OBJECTS), so organization changes cannot be seen"),
    ([], refreshed(), users_state(), WEEKLY, ORGS[:1], "the organization list changed"),
    ([], refreshed(days_ago=7), users_state(), WEEKLY, ORGS, "periodic refresh (every 7 days)"),
    # The run's users full snapshot, for each reason the users planner takes one.
    ([], refreshed(), StreamState(), WEEKLY, ORGS, "the users full snapshot of this run (first sync)"),
    ([], refreshed(), users_state(), SyncSettings(include_metadata=False), ORGS,
     "the users full snapshot of this run (BRIDGED_INCLUDE_METADATA changed)"),
    ([], refreshed(), users_state(last_full=NOW - timedelta(days=7)), WEEKLY, ORGS,
     "the users full snapshot of this run (reconciliation due (every 7 days))"),
    # Users not selected: their planner's state says nothing about this run.
    ([], refreshed(), StreamState(), SyncSettings(data_objects=("logins", "organizations")), ORGS, None),
    ([], refreshed(), users_state(), WEEKLY, ORGS, None),
    ([("101", "s", None), ("102", "sapi", "/api/v2/roles/rol_1/users")], refreshed(), users_state(), WEEKLY, ORGS, None),
    ([("101", "sapi", "/api/v2/organizations/org_1/members")], refreshed(), users_state(), WEEKLY, ORGS,
     f"1 {ORG_CHANGES}"),
    ([("101", "sapi", None), ("102", "sdu", None)], refreshed(), users_state(), WEEKLY, ORGS, f"2 {ORG_CHANGES}"),
    ([("100", "sdu", None), ("099", "sapi", "/api/v2/organizations/org_1/members")], refreshed(), users_state(),
     WEEKLY, ORGS, None),
])
def test_plan_organization_member_refresh(con, events, state, users, settings, orgs, reason):
    con.executemany("INSERT INTO auth0.organizations (org_id, name, synced_at) VALUES (?, ?, now())",
                    [(o["id"], o["id"]) for o in ORGS])
    write_state(con, "users", users)
    for log_id, type_, path in events:
        log_event(con, log_id, type_, path)
    assert organizations.plan_member_refresh(con, state, orgs, settings, NOW) == reason
