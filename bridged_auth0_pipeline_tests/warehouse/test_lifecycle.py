"""The warehouse follows each lifecycle change an Auth0 tenant sees, at the next incremental run.

Every change is made the way a tenant sees it made: through the sandbox's Management API over real
HTTP (each write leaves a `sapi` log event carrying the request), then auth0_sync runs
incrementally against the same sandbox into a real DuckDB file, and the warehouse must equal the
tenant: live users, identities, metadata rows, role memberships, and the views built on them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES
from bridged_auth0_pipeline_tests.helpers import management_writer, ok, query
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_warehouse_equals_tenant

WRITE_SCOPES = DEFAULT_SCOPES + ("update:users", "delete:users", "create:role_members", "delete:role_members")
VIEWS = ("auth0.user_auth_methods", "auth0.account_link_candidates", "playbooks.activation",
         "playbooks.qualification", "playbooks.nurture")


def users_extraction_mode(warehouse) -> str:
    return query(warehouse, "SELECT mode FROM auth0_staging.extractions WHERE stream = 'users'")[0][0]


def in_views(warehouse, user_id: str) -> list[str]:
    return [view for view in VIEWS if query(warehouse, f"SELECT count(*) FROM {view} WHERE user_id = ?", [user_id])[0][0]]


def identities_of(warehouse, user_id: str) -> set[tuple]:
    return set(query(warehouse, "SELECT provider, identity_user_id FROM auth0.user_identities WHERE user_id = ?",
                     [user_id]))


def link_candidate_pair(warehouse, tenant: SandboxTenant) -> tuple[str, str]:
    """Two accounts that account_link_candidates groups together, each with one identity."""
    for (user_ids,) in query(warehouse, "SELECT list(user_id ORDER BY user_id) FROM auth0.account_link_candidates "
                                        "GROUP BY normalized_email HAVING count(*) = 2 ORDER BY 1"):
        if all(len(tenant.users[uid]["identities"]) == 1 for uid in user_ids):
            return user_ids[0], user_ids[1]
    raise AssertionError("the synthetic tenant should have link candidates")


def test_linking_merges_the_secondary_away_and_unlinking_brings_it_back(
    sandbox_factory, pipeline_env, run_sync, warehouse_path
):
    tenant = SandboxTenant.generate(users=300, seed=11)
    server = sandbox_factory(tenant, scopes=WRITE_SCOPES)
    pipeline_env(server)
    assert run_sync().success
    primary, secondary = link_candidate_pair(warehouse_path, tenant)
    role_id = sorted(tenant.roles)[0]
    provider, _, identity_id = secondary.partition("|")
    with management_writer(server) as admin:
        ok(admin.post(f"/api/v2/roles/{role_id}/users", json={"users": [secondary]}))
        assert run_sync().success
        assert "auth0.account_link_candidates" in in_views(warehouse_path, secondary)
        assert "auth0.account_link_candidates" in in_views(warehouse_path, primary)

        ok(admin.post(f"/api/v2/users/{primary}/identities", json={"provider": provider, "user_id": identity_id}))
        assert secondary not in tenant.users and not any(e["type"] == "sdu" and e.get("user_id") == secondary
                                                         for e in tenant.logs)
        assert run_sync().success

        assert users_extraction_mode(warehouse_path) == "incremental"
        assert_warehouse_equals_tenant(warehouse_path, tenant)  # the secondary's membership went with it too
        (linked_to, deleted_at), = query(warehouse_path, "SELECT linked_to_user_id, deleted_at FROM auth0.users "
                                                         "WHERE user_id = ?", [secondary])
        assert linked_to == primary and deleted_at is not None
        assert in_views(warehouse_path, secondary) == []
        assert "auth0.user_auth_methods" in in_views(warehouse_path, primary)
        assert "auth0.account_link_candidates" not in in_views(warehouse_path, primary), "no longer a pair"
        assert identities_of(warehouse_path, secondary) == set(), "the identity is listed under the primary only"
        assert (provider, identity_id) in identities_of(warehouse_path, primary)

        assert run_sync().success  # nothing changed: the link is not re-applied or undone
        assert query(warehouse_path, "SELECT linked_to_user_id FROM auth0.users WHERE user_id = ?", [secondary]) == [
            (primary,)]

        ok(admin.delete(f"/api/v2/users/{primary}/identities/{provider}/{identity_id}"))
        assert run_sync().success

    assert users_extraction_mode(warehouse_path) == "incremental"
    assert_warehouse_equals_tenant(warehouse_path, tenant)
    assert query(warehouse_path, "SELECT linked_to_user_id, deleted_at FROM auth0.users WHERE user_id = ?",
                 [secondary]) == [(None, None)]
    assert identities_of(warehouse_path, secondary) == {(provider, identity_id)}
    assert (provider, identity_id) not in identities_of(warehouse_path, primary)
    assert "auth0.account_link_candidates" in in_views(warehouse_path, secondary), "a pair again"
    assert "auth0.user_auth_methods" in in_views(warehouse_path, secondary)


def test_every_other_change_lands_at_the_next_incremental_run(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = SandboxTenant.generate(users=300, seed=12)
    server = sandbox_factory(tenant, scopes=WRITE_SCOPES)
    pipeline_env(server)
    singles = [uid for uid in sorted(tenant.users) if len(tenant.users[uid]["identities"]) == 1]
    email, meta, app, block, unblock, grant, revoke, role_users, delete = singles[:9]
    role_id = sorted(tenant.roles)[0]
    tenant.update_user(meta, user_metadata={"keep": 1, "drop": {"nested": True}})
    tenant.update_user(app, app_metadata={"plan": "pro", "seats": 3})
    tenant.update_user(unblock, blocked=True)
    tenant.remove_role_members(role_id, [grant, role_users])
    tenant.add_role_members(role_id, [revoke])
    assert run_sync().success
    assert_warehouse_equals_tenant(warehouse_path, tenant)
    writes_before = len([e for e in tenant.logs if e["type"] == "sapi"])

    with management_writer(server) as admin:
        ok(admin.patch(f"/api/v2/users/{email}", json={"email": "moved@example.org"}))
        ok(admin.patch(f"/api/v2/users/{meta}", json={"user_metadata": {"drop": None}}))
        ok(admin.patch(f"/api/v2/users/{app}", json={"app_metadata": {}}))
        ok(admin.patch(f"/api/v2/users/{block}", json={"blocked": True}))
        ok(admin.patch(f"/api/v2/users/{unblock}", json={"blocked": False}))
        ok(admin.post(f"/api/v2/users/{grant}/roles", json={"roles": [role_id]}))
        ok(admin.request("DELETE", f"/api/v2/users/{revoke}/roles", json={"roles": [role_id]}))
        ok(admin.post(f"/api/v2/roles/{role_id}/users", json={"users": [role_users]}))
        ok(admin.delete(f"/api/v2/users/{delete}"))
        ephemeral = tenant.add_user({"email": "here-and-gone@example.org", "email_verified": True})["user_id"]
        ok(admin.delete(f"/api/v2/users/{ephemeral}"))
    assert run_sync().success

    assert users_extraction_mode(warehouse_path) == "incremental"
    rows = assert_warehouse_equals_tenant(warehouse_path, tenant, deleted={delete})
    assert rows["deleted"] == {delete}
    assert query(warehouse_path, "SELECT email FROM auth0.users WHERE user_id = ?", [email]) == [("moved@example.org",)]
    metadata = "SELECT key FROM auth0.user_metadata WHERE user_id = ? AND source = ?"
    assert query(warehouse_path, metadata, [meta, "user_metadata"]) == [("keep",)]
    assert query(warehouse_path, metadata, [app, "app_metadata"]) == []
    assert query(warehouse_path, "SELECT user_id, blocked FROM auth0.users WHERE user_id IN (?, ?) ORDER BY 1",
                 [block, unblock]) == sorted([(block, True), (unblock, False)])
    members = {uid for (uid,) in query(warehouse_path, "SELECT user_id FROM auth0.user_roles WHERE role_id = ?", [role_id])}
    assert {grant, role_users} <= members and revoke not in members
    assert query(warehouse_path, "SELECT count(*) FROM auth0.users WHERE user_id = ?", [ephemeral]) == [(0,)]
    assert in_views(warehouse_path, delete) == []
    # Each write landed as a sapi event with its request (method, path, body) and response status.
    landed = query(warehouse_path, "SELECT raw FROM auth0.login_events WHERE type = 'sapi' ORDER BY log_id")
    writes = [json.loads(raw)["details"] for (raw,) in landed][writes_before:]
    assert [(d["request"]["method"], d["response"]["statusCode"]) for d in writes] == [
        ("patch", 200)] * 5 + [("post", 204), ("delete", 204), ("post", 200), ("delete", 204), ("delete", 204)]
    assert writes[1]["request"]["body"] == {"user_metadata": {"drop": None}}


def at_the_next_export_snapshot(tenant: SandboxTenant, take: Callable[[Callable[[], list[dict]]], list[dict]]) -> None:
    """The next export job's file (taken when the job completes) comes from `take(snapshot_users)`."""
    snapshot_users = tenant.snapshot_users

    def once() -> list[dict]:
        tenant.snapshot_users = snapshot_users
        return take(snapshot_users)

    tenant.snapshot_users = once


def test_a_user_deleted_while_the_export_job_runs(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """One user is deleted before the export snapshot is taken, one right after (in the file, gone in
    the tenant): the full run and the next incremental run leave neither live."""
    tenant = SandboxTenant.generate(users=300, seed=13)
    server = sandbox_factory(tenant, scopes=WRITE_SCOPES)
    pipeline_env(server)
    before_snapshot, after_snapshot = sorted(tenant.users)[10:12]
    admin = management_writer(server)

    def snapshot_between_deletions(take_snapshot) -> list[dict]:
        ok(admin.delete(f"/api/v2/users/{before_snapshot}"))
        users = take_snapshot()
        ok(admin.delete(f"/api/v2/users/{after_snapshot}"))
        return users

    at_the_next_export_snapshot(tenant, snapshot_between_deletions)
    with admin:
        assert run_sync().success
    assert before_snapshot not in tenant.users and after_snapshot not in tenant.users, "the hook ran"
    assert run_sync().success

    assert users_extraction_mode(warehouse_path) == "incremental"
    rows = assert_warehouse_equals_tenant(warehouse_path, tenant)
    assert before_snapshot not in rows["users"] and after_snapshot not in rows["users"]
    assert query(warehouse_path, "SELECT count(*) FROM auth0.users WHERE user_id = ?", [before_snapshot]) == [(0,)]
    assert after_snapshot in rows["deleted"], "in the export file, then its sdu event marks it deleted"


def test_a_user_changed_while_the_export_job_runs_is_read_again_by_the_next_run(
    sandbox_factory, pipeline_env, run_sync, warehouse_path
):
    """Auth0 does not document the export file as a picture of one moment. Here the job writes one
    user before it changes and another after a later change: the file's newest updated_at is past
    the first change, so the next run must start from the job's creation, not from the file."""
    tenant = SandboxTenant.generate(users=300, seed=17)
    now = [tenant.now()]
    tenant.clock = lambda: now[0]
    server = sandbox_factory(tenant, scopes=WRITE_SCOPES)
    pipeline_env(server)
    early, late = sorted(tenant.users)[20:22]
    admin = management_writer(server)

    def written_while_users_change(take_snapshot) -> list[dict]:
        as_written = {user["user_id"]: user for user in take_snapshot()}  # `early` is written now
        for user_id, plan in ((early, "pro"), (late, "team")):
            now[0] += timedelta(seconds=60)
            ok(admin.patch(f"/api/v2/users/{user_id}", json={"user_metadata": {"plan": plan}}))
        return [as_written[user["user_id"]] if user["user_id"] == early else user for user in take_snapshot()]

    at_the_next_export_snapshot(tenant, written_while_users_change)
    with admin:
        assert run_sync().success
    assert tenant.users[early]["user_metadata"]["plan"] == "pro", "the hook ran"
    stale = query(warehouse_path, "SELECT user_metadata->>'plan' FROM auth0.users WHERE user_id = ?", [early])
    assert stale != [("pro",)], "the file held the user as it was before the change"

    assert run_sync().success
    assert users_extraction_mode(warehouse_path) == "incremental"
    assert_warehouse_equals_tenant(warehouse_path, tenant)
    assert query(warehouse_path, "SELECT user_metadata->>'plan' FROM auth0.users WHERE user_id = ?", [early]) == [("pro",)]


def test_a_change_user_search_sees_late_is_picked_up_by_the_next_run(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """Auth0's user search is eventually consistent, with delays that vary. A change that reaches
    search after a later one was already synced sits below the cursor: the incremental run re-reads
    10 s before its cursor (SEARCH_INDEX_LAG), so the next run still lands it."""
    tenant = SandboxTenant.generate(users=200, seed=29)
    now = [tenant.now()]
    tenant.clock = lambda: now[0]
    server = sandbox_factory(tenant, scopes=WRITE_SCOPES)
    pipeline_env(server)
    assert run_sync().success
    slow, quick = sorted(tenant.users)[5:7]
    tenant.slow_to_index[slow] = 8.0
    with management_writer(server) as admin:
        ok(admin.patch(f"/api/v2/users/{slow}", json={"user_metadata": {"plan": "pro"}}))
        now[0] += timedelta(seconds=2)
        ok(admin.patch(f"/api/v2/users/{quick}", json={"user_metadata": {"plan": "team"}}))
        now[0] += timedelta(seconds=1)
        plan = "SELECT user_metadata->>'plan' FROM auth0.users WHERE user_id = ?"
        assert run_sync().success
        assert (query(warehouse_path, plan, [quick]), query(warehouse_path, plan, [slow])) == ([("team",)], [(None,)]), \
            "search showed the later change, not the earlier one yet"
        now[0] += timedelta(seconds=10)
        assert run_sync().success
    assert users_extraction_mode(warehouse_path) == "incremental"
    assert query(warehouse_path, plan, [slow]) == [("pro",)]
    assert_warehouse_equals_tenant(warehouse_path, tenant)
