"""Whatever Auth0 or the network does, the warehouse ends equal to the tenant."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlsplit

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


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def test_users_changed_while_paging_are_never_skipped(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """Between the incremental walk's third and fourth page, users it has passed, users still ahead
    of it and users outside its window change, new users sign up and users are deleted: the same run
    lands every one of those changes and every other user of the window; the next run the deletions."""
    tenant = SandboxTenant.generate(users=600, seed=22)
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    ids = sorted(tenant.users)
    for user_id in ids[:500]:  # an incremental window of 500 users: ten pages of 50 to walk
        tenant.update_user(user_id, nickname="first wave")
    window_start = min(_iso(tenant.users[user_id]["updated_at"]) for user_id in ids[:500])
    served: list[str] = []  # the users on the walk's pages, in order
    pages_after_change: list[int] = []
    changed: dict[str, str] = {}
    created: list[str] = []
    deleted: list[str] = []
    handle = server.handle

    def handle_and_change_after_the_third_page(method, raw_path, headers, body):
        outcome = handle(method, raw_path, headers, body)
        url = urlsplit(raw_path)
        if method != "GET" or url.path != "/api/v2/users" or outcome.status != 200:
            return outcome
        page = json.loads(outcome.body)
        served.extend(user["user_id"] for user in (page if isinstance(page, list) else page["users"]))
        if changed:
            pages_after_change.append(len(page))
        elif len(served) >= 150:  # the third page is computed, not yet sent: the walk waits for it
            behind = [served[0], served[70], served[-1]]  # first, middle, the last one sent (the boundary)
            ahead = [user_id for user_id in ids[:500] if user_id not in served][:3]
            outside = [ids[520], ids[521]]  # not in the window until now
            for user_id in behind + ahead + outside:
                changed[user_id] = f"changed while paging {user_id}"
                tenant.update_user(user_id, nickname=changed[user_id])
            created.extend(tenant.add_user({"email": f"during{i}@example.com", "nickname": f"new {i}"})["user_id"]
                           for i in range(3))
            for user_id in [ids[540], ids[541], ahead[-1]]:
                tenant.delete_user(user_id)
                deleted.append(user_id)
                changed.pop(user_id, None)
        return outcome

    server.handle = handle_and_change_after_the_third_page
    try:
        assert run_sync().success
    finally:
        del server.handle
    assert changed and pages_after_change, "the tenant changed between two pages of the walk, not after it"

    landed = query(warehouse_path, "SELECT user_id, updated_at, nickname FROM auth0.users WHERE deleted_at IS NULL")
    assert len(landed) == len({row[0] for row in landed}), "a user landed twice"
    landed_now = {user_id: (updated_at, nickname) for user_id, updated_at, nickname in landed}
    in_tenant = {user_id: (_iso(user["updated_at"]), user.get("nickname")) for user_id, user in tenant.users.items()}
    assert set(changed) | set(created) <= set(in_tenant)
    stale = {user_id: (landed_now.get(user_id), in_tenant[user_id]) for user_id in [*changed, *created]
             if landed_now.get(user_id) != in_tenant[user_id]}
    assert not stale, f"changes made during the walk missing from the same run: {stale}"
    window = [user_id for user_id, (updated_at, _) in in_tenant.items() if updated_at >= window_start]
    assert len(window) == 500 - 1 + 2 + 3  # the first wave less one deletion, the two outsiders, the sign-ups
    skipped = [user_id for user_id in window if landed_now.get(user_id) != in_tenant[user_id]]
    assert not skipped, f"{len(skipped)} users of the window missing or stale after the run, e.g. {skipped[:3]}"

    assert run_sync().success  # the deletions (sdu events) land by the next run at the latest
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
    gap = [e for e in result.get_asset_check_evaluations() if e.check_name == "login_cursor_gap"]
    assert len(gap) == 1 and gap[0].passed
