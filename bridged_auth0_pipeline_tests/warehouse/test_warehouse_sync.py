"""auth0_sync against the sandbox over real HTTP into a real DuckDB file: the warehouse equals the tenant."""

from __future__ import annotations

import pytest

from bridged_auth0_pipeline.sandbox import Faults, SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query
from bridged_auth0_pipeline_tests.warehouse_assertions import (
    assert_no_idp_tokens,
    assert_warehouse_equals_tenant,
)

TABLES = ["auth0.users", "auth0.user_identities", "auth0.user_metadata", "auth0.roles", "auth0.user_roles", "auth0.login_events"]


def dump(path) -> dict[str, list]:
    return {table: sorted(map(repr, query(path, f"SELECT * FROM {table}"))) for table in TABLES}


@pytest.fixture(scope="module")
def big_tenant_template() -> SandboxTenant:
    return SandboxTenant.generate(users=3000, seed=11)


def test_full_then_incremental_then_no_change(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = SandboxTenant.generate(users=3000, seed=11)
    server = sandbox_factory(tenant)
    pipeline_env(server)

    result = run_sync()
    assert result.success
    assert all(evaluation.passed for evaluation in result.get_asset_check_evaluations())
    assert_warehouse_equals_tenant(warehouse_path, tenant)
    assert_no_idp_tokens(warehouse_path, tenant)
    assert server.token_requests() == 1, "one token per run"
    # The four streams (users, logs, roles, connections and clients) run at once; each staging asset reports its own requests, which add up.
    per_asset = [m.materialization.metadata["auth0/management_requests"].value
                 for m in result.get_asset_materialization_events() if m.asset_key.path[0] == "auth0_staging"]
    assert len(per_asset) == 4 and all(per_asset) and sum(per_asset) == server.management_request_count()

    # Mutate the tenant: updates, new users, deletions, new log events, a role change.
    user_ids = sorted(tenant.users)
    for user_id in user_ids[:25]:
        tenant.update_user(user_id, name=f"renamed {user_id}", user_metadata={"plan": "pro", "new.key": [1, None]})
    created = [tenant.add_user({"email": f"new{i}@example.com", "email_verified": True}) for i in range(10)]
    deleted = set(user_ids[100:110])
    for user_id in deleted:
        tenant.delete_user(user_id)
    tenant.add_log("s", user_id=created[0]["user_id"])
    role_id = next(iter(tenant.roles))
    tenant.assign_role(role_id, [created[1]["user_id"]])

    result = run_sync()
    assert result.success
    rows = assert_warehouse_equals_tenant(warehouse_path, tenant, deleted=deleted)
    assert rows["deleted"] == deleted
    assert query(warehouse_path, "SELECT count(*) FROM auth0.users WHERE name LIKE 'renamed %'")[0][0] == 25

    # Nothing changed: nothing is rewritten and only a handful of requests are made.
    before = dump(warehouse_path)
    requests_before = server.management_request_count()
    assert run_sync().success
    assert dump(warehouse_path) == before
    no_change_requests = server.management_request_count() - requests_before
    # users: one window page; logs: one checkpoint page; roles: the list (members unchanged per the log);
    # connections and clients: one listing each, every run (refused here: the default scopes lack them)
    assert no_change_requests == 5, [r.path for r in server.requests[-no_change_requests:]]


def test_failed_run_keeps_the_last_consistent_state_and_the_next_run_completes(
    sandbox_factory, pipeline_env, run_sync, warehouse_path
):
    tenant = SandboxTenant.generate(users=300, seed=5)
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS="0")
    assert run_sync().success
    first = dump(warehouse_path)

    for user_id in sorted(tenant.users)[:5]:
        tenant.update_user(user_id, name="changed while the API fails")
    server.faults = Faults(always_429=True)
    result = run_sync(raise_on_error=False)
    assert not result.success
    assert dump(warehouse_path) == first, "a failed run must not change the warehouse"

    server.faults = Faults()
    assert run_sync().success
    assert_warehouse_equals_tenant(warehouse_path, tenant)


def test_bulk_import_ties_and_page_size_100(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """1,500 users share one updated_at; the incremental walk must still land every one of them."""
    tenant = SandboxTenant.generate(users=200, seed=3)
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_PAGE_SIZE="100")
    assert run_sync().success
    stamp = tenant.now_iso()
    for i in range(1500):
        tenant.add_user({"email": f"import{i}@corp.example", "email_verified": True, "updated_at": stamp, "created_at": stamp})
    assert run_sync().success
    assert_warehouse_equals_tenant(warehouse_path, tenant)
