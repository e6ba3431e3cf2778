"""Users synced without the data object logins: a user deleted in Auth0 is no longer live after the
next run (an incremental one), read from the log's `sdu` event, as with logins on. Against the
sandbox over real HTTP into a real DuckDB file."""

from __future__ import annotations

import logging

import dagster as dg

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES
from bridged_auth0_pipeline_tests.helpers import query

LIVE = "SELECT user_id FROM auth0.users WHERE deleted_at IS NULL ORDER BY 1"
MODES = "SELECT stream, details->>'mode' FROM auth0._sync_state WHERE stream = 'login_events'"


def _tenant(users: int = 4) -> SandboxTenant:
    tenant = SandboxTenant(name="deletions.auth0.test")
    for n in range(users):
        tenant.add_user({"user_id": f"auth0|u{n}", "email": f"u{n}@example.com"})
    tenant.add_log("s", user_id="auth0|u0")  # events that are not deletions, before and after the first run
    return tenant


def _users_mode(result: dg.ExecuteInProcessResult) -> str:
    users = next(e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["auth0", "users"]))
    return users.step_materialization_data.materialization.metadata["extraction_mode"].value


def _live(tenant: SandboxTenant) -> list[tuple[str]]:
    return [(user_id,) for user_id in sorted(tenant.users)]


def test_a_deleted_user_leaves_at_the_next_incremental_run_and_only_deletions_are_stored(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = _tenant()
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_DATA_OBJECTS="users")
    assert run_sync().success
    assert query(warehouse_path, LIVE) == _live(tenant)
    # The walk starts at the newest event: the history before the first snapshot is not needed.
    assert query(warehouse_path, "SELECT count(*) FROM auth0.login_events") == [(0,)]

    tenant.add_log("s", user_id="auth0|u1")
    tenant.delete_user("auth0|u2")
    result = run_sync()
    assert result.success
    assert _users_mode(result) == "incremental"
    assert query(warehouse_path, LIVE) == _live(tenant) == [("auth0|u0",), ("auth0|u1",), ("auth0|u3",)]
    assert query(warehouse_path, "SELECT type, user_id FROM auth0.login_events") == [("sdu", "auth0|u2")], \
        "with logins off only deletions are stored"
    # Consumers see what the tenant has: the data object logins is still off for the views.
    assert query(warehouse_path, "SELECT details->>'data_objects' FROM auth0._sync_state WHERE stream = 'data_objects'") == [
        ('["users"]',)]
    assert {row[0] for row in query(warehouse_path, "SELECT user_id FROM playbooks.activation")} <= {"auth0|u0", "auth0|u1", "auth0|u3"}

    # Logins turned on: the log is read again from the oldest retained event, every type of it.
    pipeline_env(server, BRIDGED_DATA_OBJECTS="users,logins")
    assert run_sync().success
    assert query(warehouse_path, "SELECT count(*), count(DISTINCT log_id) FROM auth0.login_events") == [
        (len(tenant.logs), len(tenant.logs))]
    assert query(warehouse_path, MODES) == [("login_events", "all")]


def test_an_existing_users_only_warehouse_starts_reading_deletions_and_reconciles_once(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """A warehouse synced before the log was read for deletions (simulated: the application lacked
    read:logs) misses the deletions since its last snapshot: the first run that reads the log starts
    at the newest event, so the run after it takes a full snapshot, and later runs are incremental."""
    tenant = _tenant()
    scopes = tuple(scope for scope in DEFAULT_SCOPES if scope != "read:logs")
    server = sandbox_factory(tenant, scopes=scopes)
    pipeline_env(server, BRIDGED_DATA_OBJECTS="users")
    assert run_sync().success
    tenant.delete_user("auth0|u1")
    server.scopes = DEFAULT_SCOPES
    result = run_sync()
    assert result.success and _users_mode(result) == "incremental"
    assert ("auth0|u1",) in query(warehouse_path, LIVE), "deleted before the log was read: only a snapshot sees it"

    result = run_sync()
    assert result.success and _users_mode(result) == "full"
    assert query(warehouse_path, LIVE) == _live(tenant)
    result = run_sync()
    assert result.success and _users_mode(result) == "incremental"


def test_without_read_logs_the_run_warns_with_the_fix_and_goes_on(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = _tenant()
    server = sandbox_factory(tenant, scopes=tuple(scope for scope in DEFAULT_SCOPES if scope != "read:logs"))
    pipeline_env(server, BRIDGED_DATA_OBJECTS="users")
    assert run_sync().success
    tenant.delete_user("auth0|u2")
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_sync(instance=instance)
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    assert result.success
    assert [w for w in warnings if "User deletions not read from the log" in w and "lacks read:logs" in w
            and "Fix: grant read:logs" in w], warnings
    # As before the log was read for deletions: the user stays live until the next full snapshot.
    assert ("auth0|u2",) in query(warehouse_path, LIVE)
    assert query(warehouse_path, "SELECT count(*) FROM auth0.login_events") == [(0,)]
