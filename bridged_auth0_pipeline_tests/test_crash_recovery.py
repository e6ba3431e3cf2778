"""SIGKILL the real `dagster job execute` process at several points: the warehouse stays readable
and consistent, the log cursor never passes uncommitted rows, and the next run makes it exact."""

from __future__ import annotations

import os
import signal
import time

import duckdb
import pytest

from bridged_auth0_pipeline.sandbox import Faults, SandboxTenant
from bridged_auth0_pipeline_tests.conftest import dagster_job_execute, pipeline_process_env
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
    # (requests served before the kill, extra delay): early in users, in logs, late in roles, and
    # at growing delays after the last request — in the loads and the views.
    for wave, (after, delay) in enumerate([(3, 0.0), (25, 0.0), (60, 0.0), (75, 0.3), (75, 0.8), (75, 1.5)]):
        for user_id in sorted(tenant.users)[wave * 200:(wave + 1) * 200]:
            tenant.update_user(user_id, nickname=f"wave {wave}")
        for user_id in sorted(tenant.users)[:300]:
            tenant.add_log("s", user_id=user_id)
        outcomes.append(run_and_kill(env, home, server, after, delay))
        if warehouse.exists():
            assert_consistent(warehouse)
    print(f"kill outcomes: {outcomes}")
    assert outcomes.count("killed") >= 4, outcomes

    process = dagster_job_execute(env, home)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    assert_consistent(warehouse)
    assert_warehouse_equals_tenant(warehouse, tenant)
