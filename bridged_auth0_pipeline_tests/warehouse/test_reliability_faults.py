"""Whatever Auth0 or the network does, the warehouse ends equal to the tenant."""

from __future__ import annotations

import threading
import time

from bridged_auth0_pipeline.sandbox import Faults, SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_warehouse_equals_tenant

FAULTS = Faults(
    extra_429_rate=0.2, error_5xx_rate=0.05, latency_seconds=(0.0, 0.02), drop_connection_rate=0.03,
    truncate_rate=0.03, faults_on_download=True, seed=11,
)


def _sync_twice_with_changes(sandbox_factory, pipeline_env, run_sync, faults: Faults | None, warehouse) -> tuple[int, SandboxTenant]:
    """A full run, 120 updates and 60 new events, an incremental run: returns (Management requests, tenant)."""
    tenant = SandboxTenant.generate(users=400, seed=21)
    server = sandbox_factory(tenant, faults=faults or Faults(), token_ttl_seconds=3)
    pipeline_env(server, BRIDGED_DUCKDB_PATH=str(warehouse))
    assert run_sync().success
    for user_id in sorted(tenant.users)[:120]:
        tenant.update_user(user_id, name=f"changed {user_id}")
    for i in range(60):
        tenant.add_log("s", user_id=sorted(tenant.users)[i])
    assert run_sync().success
    return server.management_request_count(), tenant


def test_sync_is_exact_under_faults_and_reports_their_cost(sandbox_factory, pipeline_env, run_sync, tmp_path):
    faulty, clean = tmp_path / "faulty.duckdb", tmp_path / "clean.duckdb"
    faulty_requests, tenant = _sync_twice_with_changes(sandbox_factory, pipeline_env, run_sync, FAULTS, faulty)
    assert_warehouse_equals_tenant(faulty, tenant)
    assert query(faulty, "SELECT count(*) FROM auth0.users WHERE name LIKE 'changed %'")[0][0] == 120

    clean_requests, clean_tenant = _sync_twice_with_changes(sandbox_factory, pipeline_env, run_sync, None, clean)
    assert_warehouse_equals_tenant(clean, clean_tenant)
    print(f"faults cost {faulty_requests - clean_requests} extra Management API requests "
          f"({faulty_requests} with faults vs {clean_requests} without)")
    assert faulty_requests > clean_requests


def test_users_changed_while_paging_are_never_skipped(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = SandboxTenant.generate(users=600, seed=22)
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    ids = sorted(tenant.users)
    for user_id in ids[:500]:  # an incremental window of 500 users: ten pages to walk
        tenant.update_user(user_id, nickname="first wave")
    server.faults = Faults(latency_seconds=(0.05, 0.05))
    stop = threading.Event()
    created, deleted = [], []

    def mutate() -> None:
        i = 0
        while not stop.is_set() and i < 200:
            tenant.update_user(ids[i], nickname=f"during the run {i}")  # moves ahead of the walk
            if i % 10 == 0:
                created.append(tenant.add_user({"email": f"during{i}@example.com"})["user_id"])
            if i % 25 == 0:
                tenant.delete_user(ids[550 + i // 25])
                deleted.append(ids[550 + i // 25])
            i += 1
            time.sleep(0.005)

    mutator = threading.Thread(target=mutate)
    mutator.start()
    try:
        assert run_sync().success
    finally:
        stop.set()
        mutator.join()
    # No user that existed throughout the run is missing, and none is duplicated.
    landed = [row[0] for row in query(warehouse_path, "SELECT user_id FROM auth0.users")]
    assert len(landed) == len(set(landed))
    assert set(ids) <= set(landed)
    # What changed during the run is picked up by the next run at the latest.
    server.faults = Faults()
    assert run_sync().success
    assert_warehouse_equals_tenant(warehouse_path, tenant, deleted=set(deleted))


def test_log_retention_gap_is_reported_not_hidden(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = SandboxTenant.generate(users=100, seed=23)
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    cursor = query(warehouse_path, "SELECT cursor FROM auth0._sync_state WHERE stream = 'login_events'")[0][0]
    for _ in range(30):
        tenant.add_log("s", user_id=next(iter(tenant.users)))
    lost = [event["log_id"] for event in tenant.logs if event["log_id"] > cursor][:10]
    tenant.expire_logs_before(lost[-1])  # the cursor and the ten events after it are past retention

    result = run_sync(raise_on_error=False)
    assert not result.success  # a gap fails the run (after every table has loaded)
    gap = [e for e in result.get_asset_check_evaluations() if e.check_name == "login_cursor_gap"]
    assert len(gap) == 1 and not gap[0].passed
    assert gap[0].metadata["cursor"].value == cursor
    assert gap[0].metadata["oldest_available_log_id"].value == lost[-1]
    assert int(gap[0].metadata["gap_seconds"].value) >= 0  # the size of the hole, in time
    stored = {row[0] for row in query(warehouse_path, "SELECT log_id FROM auth0.login_events")}
    assert lost[-1] in stored and not set(lost[:-1]) & stored
    assert {event["log_id"] for event in tenant.logs} <= stored

    result = run_sync()  # the gap was reported once; the next run is clean again
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.check_name == "login_cursor_gap")
