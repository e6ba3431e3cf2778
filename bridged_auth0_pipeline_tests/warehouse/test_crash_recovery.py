"""SIGKILL the real `dagster job execute` process at several points: the warehouse stays readable
and consistent, the log cursor never passes uncommitted rows, and the next run makes it exact."""

from __future__ import annotations

import os
import signal
import time

import duckdb
import pytest

from bridged_auth0_pipeline.sandbox import Faults, SandboxTenant
from bridged_auth0_pipeline_tests.helpers import dagster_job_execute, pipeline_process_env
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_warehouse_equals_tenant

pytestmark = pytest.mark.slow

CONSISTENCY_SQL = {
    "duplicate users": "SELECT count(*) - count(DISTINCT user_id) FROM auth0.users",
    "duplicate events": "SELECT count(*) - count(DISTINCT log_id) FROM auth0.login_events",
    "orphan identities": "SELECT count(*) FROM auth0.user_identities ANTI JOIN auth0.users USING (user_id)",
    "changed users without identities": """SELECT count(*) FROM auth0.users u WHERE deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM auth0.user_identities i WHERE i.user_id = u.user_id)""",
    # The cursor covers exactly the committed events: never past them.
    "cursor past the committed events": """SELECT count(*) FROM auth0._sync_state
        WHERE stream = 'login_events' AND cursor IS DISTINCT FROM (SELECT max(log_id) FROM auth0.login_events)""",
    "users cursor past the committed users": """SELECT count(*) FROM auth0._sync_state s WHERE stream = 'users'
        AND (SELECT max(strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z') FROM auth0.users) < s.cursor""",
}


def assert_consistent(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        violations = {name: con.execute(sql).fetchone()[0] for name, sql in CONSISTENCY_SQL.items()}
        counts = {table: con.execute(f"SELECT count(*) FROM auth0.{table}").fetchone()[0] for table in ("users", "login_events")}
    assert not any(violations.values()), violations
    return counts


def run_and_kill(env, dagster_home, server, after_requests: int, extra_delay: float) -> str:
    """Start a sync, SIGKILL it once the sandbox has served `after_requests` more requests (+ a delay)."""
    start = server.management_request_count()
    process = dagster_job_execute(env, dagster_home)
    deadline = time.monotonic() + 120
    while server.management_request_count() - start < after_requests and process.poll() is None:
        assert time.monotonic() < deadline, "the sync never reached the kill point"
        time.sleep(0.01)
    time.sleep(extra_delay)
    state = "finished before the kill" if process.poll() is not None else "killed"
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    return state


def test_sigkill_at_several_points_never_corrupts_or_skips(sandbox_factory, tmp_path):
    tenant = SandboxTenant.generate(users=1500, seed=31)
    server = sandbox_factory(tenant, faults=Faults(latency_seconds=(0.01, 0.02)))
    warehouse = tmp_path / "warehouse.duckdb"
    env = pipeline_process_env(server, warehouse)
    home = tmp_path / "dagster_home"

    outcomes = []
    # Early in users, in logs, late in roles (requests served before the kill: a full sync of this
    # tenant makes 47, and no sync has completed yet), then at growing delays after the loads' step
    # starts — in the loads and the views.
    kill_points = [(3, None, 0.0), (12, None, 0.0), (25, None, 0.0)]
    kill_points += [(None, 'Started execution of step "warehouse_tables"', delay) for delay in (0.3, 0.8, 1.5)]
    for wave, (after, marker, delay) in enumerate(kill_points):
        for user_id in sorted(tenant.users)[wave * 200:(wave + 1) * 200]:
            tenant.update_user(user_id, nickname=f"wave {wave}")
        for user_id in sorted(tenant.users)[:300]:
            tenant.add_log("s", user_id=user_id)
        if marker is None:
            outcomes.append(run_and_kill(env, home, server, after, delay))
        else:
            outcomes.append(run_and_kill_at(env, home, marker, delay))
        if warehouse.exists():
            assert_consistent(warehouse)
    print(f"kill outcomes: {outcomes}")
    assert outcomes.count("killed") >= 5, outcomes

    process = dagster_job_execute(env, home)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    assert_consistent(warehouse)
    assert_warehouse_equals_tenant(warehouse, tenant)


# A reader between runs sees one whole run: every table and cursor of the same run.
WHOLE_RUN_SQL = {
    "memberships of users not in auth0.users": "SELECT count(*) FROM auth0.user_roles ANTI JOIN auth0.users USING (user_id)",
    "metadata rows that differ from the users' metadata": """
        WITH expected AS (
            SELECT user_id, 'user_metadata' AS source, unnest(json_keys(user_metadata)) AS key FROM auth0.users
            WHERE json_type(user_metadata) = 'OBJECT'
            UNION ALL
            SELECT user_id, 'app_metadata', unnest(json_keys(app_metadata)) FROM auth0.users
            WHERE json_type(app_metadata) = 'OBJECT'
        )
        SELECT count(*) FROM ((SELECT * FROM expected EXCEPT SELECT user_id, source, key FROM auth0.user_metadata)
                              UNION ALL
                              (SELECT user_id, source, key FROM auth0.user_metadata EXCEPT SELECT * FROM expected))""",
    "cursors from more than one run": """SELECT count(DISTINCT updated_at) - 1 FROM auth0._sync_state
        WHERE stream IN ('users', 'roles', 'login_events')""",
}
STEPS = ("staged_extraction", "warehouse_tables", "playbook_views", "warehouse_checks")


def assert_whole_run(path) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        violations = {name: con.execute(sql).fetchone()[0] for name, sql in WHOLE_RUN_SQL.items()}
    assert not any(violations.values()), violations


def run_and_kill_at(env, dagster_home, marker: str, delay: float = 0.0) -> str:
    """Start a sync and SIGKILL it as soon as its log prints `marker` (plus `delay`)."""
    process = dagster_job_execute(env, dagster_home)
    for line in process.stdout:
        if marker in line:
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)
            return "killed"
    process.communicate(timeout=60)
    return "finished before the kill"


def test_readers_see_whole_runs_when_killed_at_every_step_boundary(sandbox_factory, tmp_path):
    tenant = SandboxTenant.generate(users=1500, seed=33)
    server = sandbox_factory(tenant)
    warehouse = tmp_path / "warehouse.duckdb"
    env = pipeline_process_env(server, warehouse)
    home = tmp_path / "dagster_home"
    process = dagster_job_execute(env, home)
    assert process.communicate(timeout=300)[0] and process.returncode == 0
    role_id = next(iter(tenant.roles))

    points = [(f'Started execution of step "{step}"', 0.0) for step in STEPS]
    points += [(f'Finished execution of step "{step}"', 0.0) for step in STEPS]
    points.append(('Started execution of step "warehouse_tables"', 0.3))  # inside the loads' transaction
    outcomes = []
    for wave, (marker, delay) in enumerate(points):
        # Each run brings users with memberships and metadata changes: a half-applied run would show.
        new = [tenant.add_user({"email": f"wave{wave}-{i}@example.com", "user_metadata": {"wave": wave}})["user_id"]
               for i in range(40)]
        tenant.assign_role(role_id, new)
        for user_id in sorted(tenant.users)[wave * 50:(wave + 1) * 50]:
            tenant.update_user(user_id, user_metadata={"plan": f"wave {wave}"}, app_metadata=None)
        outcomes.append(run_and_kill_at(env, home, marker, delay))
        assert_consistent(warehouse)
        assert_whole_run(warehouse)
    print(f"kill outcomes: {outcomes}")
    assert outcomes.count("killed") == len(points), outcomes

    process = dagster_job_execute(env, home)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    assert_whole_run(warehouse)
    assert_warehouse_equals_tenant(warehouse, tenant)
