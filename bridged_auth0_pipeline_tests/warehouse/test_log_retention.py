"""A log cursor older than the tenant's log retention is a gap in the history: found whichever way
Auth0 answers the checkpoint (a 400, or silently from the oldest retained event), reported with its
size by the `login_cursor_gap` check, and the run fails instead of looking green.

The sandbox's clock is moved forward three days with a one-day retention (the Starter plan): the
stored cursor's event and everything up to the new events expire, as they would for a tenant
synced less often than its plan keeps logs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_warehouse_equals_tenant


def _date(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def gap_check(result):
    return [e for e in result.get_asset_check_evaluations() if e.check_name == "login_cursor_gap"]


def gap_check_passed(result) -> bool:
    """The run evaluated the check exactly once, and it passed (a missing evaluation is no pass)."""
    evaluations = gap_check(result)
    assert len(evaluations) == 1, f"{len(evaluations)} login_cursor_gap evaluations"
    return evaluations[0].passed


def log_by_id_requests(server) -> list[str]:
    return [r.path for r in server.requests if r.api == "management" and r.path.startswith("/api/v2/logs/")]


@pytest.mark.parametrize("expired_from", ["reject", "oldest"])
def test_a_cursor_past_the_retention_is_a_reported_gap_and_fails_the_run(
    expired_from, sandbox_factory, pipeline_env, run_sync, warehouse_path
):
    tenant = SandboxTenant.generate(users=100, seed=23)
    now = [tenant.now()]
    tenant.clock = lambda: now[0]
    tenant.expired_from = expired_from
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    user_id = sorted(tenant.users)[0]

    # New events, cursor still retained: one GET /api/v2/logs/{cursor} answers 200, no gap.
    for _ in range(5):
        tenant.add_log("s", user_id=user_id)
    result = run_sync()
    assert result.success and gap_check_passed(result)
    cursor = query(warehouse_path, "SELECT cursor FROM auth0._sync_state WHERE stream = 'login_events'")[0][0]
    assert log_by_id_requests(server) == [f"/api/v2/logs/{tenant.logs[-6]['log_id']}"]
    cursor_date = _date(tenant.get_log(cursor)["date"])

    now[0] += timedelta(days=3)
    tenant.retention_days = 1
    for _ in range(20):
        tenant.add_log("s", user_id=user_id)
    assert tenant.get_log(cursor) is None and len(tenant.logs) == 20, "only the new events are retained"

    result = run_sync(raise_on_error=False)

    assert not result.success, "a run that found a gap must not look green"
    (check,) = gap_check(result)
    assert not check.passed and check.severity.value == "ERROR"
    metadata = {key: value.value for key, value in check.metadata.items()}
    oldest = tenant.logs[0]
    assert metadata["cursor"] == cursor
    assert metadata["oldest_available_log_id"] == oldest["log_id"]
    assert int(metadata["gap_seconds"]) == round((_date(oldest["date"]) - cursor_date).total_seconds())
    assert int(metadata["gap_seconds"]) >= 3 * 86400 - 60
    assert ("404" if expired_from == "oldest" else "refused") in metadata["detected_by"]
    assert "sync more often" in check.description
    # The rest of the run still landed: every retained event once, users and roles as in the tenant.
    assert_warehouse_equals_tenant(warehouse_path, tenant)

    result = run_sync()  # the gap was reported once; the next run is clean again
    assert result.success and gap_check_passed(result)


def test_no_check_request_when_there_are_no_new_events(sandbox_factory, pipeline_env, run_sync):
    """A run without new log events cannot have been restarted silently: no GET /api/v2/logs/{id}."""
    tenant = SandboxTenant.generate(users=50, seed=24)
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    assert run_sync().success
    assert log_by_id_requests(server) == []


@pytest.mark.parametrize("expired_from", ["reject", "oldest"])
def test_a_gap_while_only_deletions_are_read_warns_and_the_next_run_takes_a_snapshot(
    expired_from, sandbox_factory, pipeline_env, run_sync, warehouse_path
):
    """Users without logins: a deletion lost in a gap is not a lost event for good (the users table
    can be reconciled), so the run warns instead of failing, and the next run's full snapshot
    marks the user deleted."""
    tenant = SandboxTenant.generate(users=100, seed=25)
    now = [tenant.now()]
    tenant.clock = lambda: now[0]
    tenant.expired_from = expired_from
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_DATA_OBJECTS="users")
    assert run_sync().success
    deleted = sorted(tenant.users)[0]
    tenant.delete_user(deleted)

    now[0] += timedelta(days=3)
    tenant.retention_days = 1
    for _ in range(20):
        tenant.add_log("s", user_id=sorted(tenant.users)[0])
    tenant.enforce_retention()
    assert not [e for e in tenant.logs if e["type"] == "sdu"], "the deletion's event expired"

    result = run_sync()
    assert result.success, "a gap in deletions only is reconciled by a snapshot: the run goes on"
    (check,) = gap_check(result)
    assert not check.passed and check.severity.value == "WARN"
    assert "next run" in check.description and "full snapshot" in check.description
    live = "SELECT count(*) FROM auth0.users WHERE user_id = ? AND deleted_at IS NULL"
    assert query(warehouse_path, live, [deleted]) == [(1,)]

    result = run_sync()
    assert result.success, "the run after the gap"
    assert gap_check_passed(result), [(c.passed, c.description) for c in gap_check(result)]
    users = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "auth0/users")
    assert users.step_materialization_data.materialization.metadata["extraction_mode"].value == "full"
    assert query(warehouse_path, live, [deleted]) == [(0,)]
    assert query(warehouse_path, "SELECT user_id FROM auth0.users WHERE deleted_at IS NULL ORDER BY 1") == [
        (user_id,) for user_id in sorted(tenant.users)]
