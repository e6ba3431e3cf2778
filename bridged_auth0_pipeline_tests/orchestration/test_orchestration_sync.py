"""BRIDGED_DATA_OBJECTS, BRIDGED_USER_FILTER and BRIDGED_INCLUDE_METADATA change what auth0_sync does:
each setting is run for real against the sandbox over HTTP into a DuckDB file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import httpx
import pytest

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query
from bridged_auth0_pipeline_tests.warehouse_assertions import expected_memberships, expected_users, warehouse_rows

VIEWS = {"auth0/user_auth_methods", "auth0/account_link_candidates", "auth0/login_events_enriched", "playbooks/activation",
         "playbooks/qualification", "playbooks/nurture"}
# Connections and clients name what identities and log events mention: read with users and with logins.
NAMING = {"auth0_staging/connections", "auth0/connections", "auth0/clients"}
ASSETS_OF = {
    # users reads the log too (user deletions only, without logins)
    "users": {"auth0_staging/users", "auth0_staging/roles", "auth0/users", "auth0/user_identities", "auth0/roles", "auth0/user_roles",
              "auth0_staging/login_events", "auth0/login_events"} | NAMING,
    "user_metadata": {"auth0/user_metadata"},
    "logins": {"auth0_staging/login_events", "auth0/login_events"} | NAMING,
}


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def management_paths(server) -> list[str]:
    return [record.path for record in server.requests if record.api == "management"]


def in_filter(path) -> set[str]:
    """The users the warehouse presents as synced: live and inside BRIDGED_USER_FILTER."""
    return {row[0] for row in query(path, "SELECT user_id FROM auth0.users WHERE deleted_at IS NULL AND filtered_out_at IS NULL")}


def assert_consumers_see_only(path, user_ids: set[str]) -> None:
    assert {row[0] for row in query(path, "SELECT user_id FROM auth0.user_auth_methods")} == user_ids
    for view in ("playbooks.activation", "playbooks.qualification", "playbooks.nurture"):
        assert {row[0] for row in query(path, f"SELECT user_id FROM {view}")} <= user_ids, view


# -- BRIDGED_DATA_OBJECTS ---------------------------------------------------------------------------


@pytest.mark.parametrize("data_objects", ["users", "users,user_metadata", "logins", "users,logins", "users,user_metadata,logins"])
def test_each_data_objects_subset_materializes_exactly_its_assets(sandbox_factory, pipeline_env, run_sync, warehouse_path, data_objects):
    tenant = SandboxTenant.generate(users=50, seed=41)
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_DATA_OBJECTS=data_objects)
    chosen = data_objects.split(",")

    result = run_sync()
    assert result.success
    expected = set().union(*(ASSETS_OF[name] for name in chosen)) | VIEWS
    assert materialized(result) == expected
    assert result.job_def.metadata["data_objects"].value == data_objects

    # Only what was chosen is requested from Auth0 and lands in the warehouse.
    paths = management_paths(server)
    assert any(p == "/api/v2/logs" for p in paths)  # for the log events, or for user deletions
    assert any(p.startswith(("/api/v2/users", "/api/v2/jobs/users-exports")) for p in paths) == ("users" in chosen)
    assert any(p.startswith("/api/v2/roles") for p in paths) == ("users" in chosen)
    rows = warehouse_rows(warehouse_path)
    assert rows["users"] == (expected_users(tenant) if "users" in chosen else {})
    assert rows["memberships"] == (expected_memberships(tenant) if "users" in chosen else set())
    # Without logins, only deletions: the first run reads from the newest event, so none yet.
    assert (len(rows["log_ids"]) == len(tenant.logs)) if "logins" in chosen else rows["log_ids"] == []
    assert bool(rows["metadata"]) == ("user_metadata" in chosen)


# -- BRIDGED_USER_FILTER ----------------------------------------------------------------------------


def test_active_filter_syncs_exactly_the_active_users_and_marks_those_who_leave(
    sandbox_factory, pipeline_env, run_sync, warehouse_path, monkeypatch
):
    now = datetime.now(timezone.utc)
    tenant = SandboxTenant.generate(users=300, seed=42, anchor=now)
    for name, days, blocked in [("recent", 1, False), ("at-29-days", 29, False), ("at-31-days", 31, False), ("blocked", 1, True), ("never", None, False)]:
        profile = {"email": f"{name}@filter.example", "email_verified": True, "blocked": blocked}
        if days is not None:
            profile["last_login"] = (now - timedelta(days=days)).isoformat()
        tenant.add_user(profile)
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_USER_FILTER="active")

    def active(days: int) -> set[str]:
        cutoff = datetime.now(timezone.utc) - timedelta(days=days)
        last_logins = {uid: datetime.fromisoformat(u["last_login"].replace("Z", "+00:00")) for uid, u in tenant.users.items() if u.get("last_login")}
        # A login within a minute of the cutoff would make the expectation depend on the exact run time.
        assert not any(abs(ll - cutoff) < timedelta(minutes=1) for ll in last_logins.values())
        return {uid for uid, ll in last_logins.items() if ll >= cutoff and not tenant.users[uid].get("blocked")}

    result = run_sync()
    assert result.success
    expected = active(30)
    emails = {u["email"]: uid for uid, u in tenant.users.items() if u.get("email", "").endswith("@filter.example")}
    assert {emails["recent@filter.example"], emails["at-29-days@filter.example"]} <= expected
    assert not {emails[e] for e in ("at-31-days@filter.example", "blocked@filter.example", "never@filter.example")} & expected
    assert 0 < len(expected) < len(tenant.users)
    assert in_filter(warehouse_path) == expected
    # Nothing is lost: users outside the filter keep their (current) rows, marked.
    assert warehouse_rows(warehouse_path)["users"] == expected_users(tenant)
    assert_consumers_see_only(warehouse_path, expected)
    users_materialization = next(e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["auth0", "users"]))
    metadata = users_materialization.step_materialization_data.materialization.metadata
    assert metadata["user_filter"].value == "active"
    assert metadata["filtered_out_users"].value == len(tenant.users) - len(expected)

    # A user who gets blocked, and the users a narrower window leaves out, are marked at the next run.
    blocked = emails["recent@filter.example"]
    tenant.update_user(blocked, blocked=True)
    monkeypatch.setenv("BRIDGED_ACTIVE_DAYS", "7")
    assert run_sync().success
    narrower = active(7)
    assert blocked not in narrower and emails["at-29-days@filter.example"] not in narrower
    assert in_filter(warehouse_path) == narrower
    assert query(warehouse_path, "SELECT blocked, filtered_out_at IS NOT NULL FROM auth0.users WHERE user_id = ?", [blocked]) == [(True, True)]
    assert warehouse_rows(warehouse_path)["users"] == expected_users(tenant), "rows outside the filter are kept current"
    assert_consumers_see_only(warehouse_path, narrower)

    # Back to all: every mark is cleared.
    monkeypatch.setenv("BRIDGED_USER_FILTER", "all")
    assert run_sync().success
    assert in_filter(warehouse_path) == set(tenant.users)


def test_role_filter_syncs_exactly_the_members_of_the_named_roles(sandbox_factory, pipeline_env, run_sync, warehouse_path, monkeypatch):
    tenant = SandboxTenant.generate(users=300, seed=43)
    role_ids = {role["name"]: role_id for role_id, role in tenant.roles.items()}
    newcomer = tenant.add_user({"email": "new-admin@filter.example", "email_verified": True})
    tenant.assign_role(role_ids["admin"], [newcomer["user_id"]])
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_USER_FILTER="role:Admin, billing")  # role names match case-insensitively

    def members(*names: str) -> set[str]:
        return {uid for name in names for uid in tenant.role_members[role_ids[name]]}

    assert run_sync().success
    expected = members("admin", "billing")
    assert newcomer["user_id"] in expected and 0 < len(expected) < len(tenant.users) // 4
    assert in_filter(warehouse_path) == expected
    assert warehouse_rows(warehouse_path)["users"] == expected_users(tenant)
    assert_consumers_see_only(warehouse_path, expected)

    # A user assigned a role enters the filter; narrowing the filter marks the members who leave it.
    joiner = next(uid for uid in sorted(tenant.users) if uid not in expected)
    tenant.assign_role(role_ids["admin"], [joiner])
    monkeypatch.setenv("BRIDGED_USER_FILTER", "role:admin")
    assert run_sync().success
    assert in_filter(warehouse_path) == members("admin")
    assert joiner in members("admin")
    left = expected - members("admin")
    assert left and all(row[0] is not None for row in query(
        warehouse_path, f"SELECT filtered_out_at FROM auth0.users WHERE user_id IN ({','.join('?' * len(left))})", sorted(left)))
    assert_consumers_see_only(warehouse_path, members("admin"))


# -- BRIDGED_INCLUDE_METADATA ----------------------------------------------------------------------


def export_job_fields(server) -> list[list[str]]:
    """The `fields` of every users export job the pipeline created, read back from the sandbox's jobs API."""
    token = httpx.post(f"{server.base_url}/oauth/token", json={
        "grant_type": "client_credentials", "client_id": server.client_id,
        "client_secret": server.client_secret, "audience": server.audience,
    }).json()["access_token"]
    job_ids = dict.fromkeys(r.path.rsplit("/", 1)[1] for r in server.requests if r.api == "management" and r.path.startswith("/api/v2/jobs/job_"))
    jobs = [httpx.get(f"{server.base_url}/api/v2/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}).json() for job_id in job_ids]
    return [[field["name"] for field in job["fields"]] for job in jobs]


def search_fields(server) -> list[list[str]]:
    """The `fields` parameter of every user search request."""
    found = []
    for r in server.requests:
        if r.api == "management" and r.path == "/api/v2/users":
            assert r.query.get("include_fields") == "true"
            found.append(r.query["fields"].split(","))
    return found


def stored_metadata(path) -> tuple[int, int, int]:
    return (
        query(path, "SELECT count(*) FROM auth0.users WHERE user_metadata IS NOT NULL OR app_metadata IS NOT NULL")[0][0],
        query(path, "SELECT count(*) FROM auth0.user_metadata")[0][0],
        query(path, "SELECT count(*) FROM auth0_staging.users WHERE user_metadata IS NOT NULL OR app_metadata IS NOT NULL")[0][0],
    )


def test_include_metadata_no_neither_requests_nor_stores_metadata(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = SandboxTenant.generate(users=200, seed=44)
    assert sum(1 for u in tenant.users.values() if u.get("user_metadata") or u.get("app_metadata")) > 50
    server = sandbox_factory(tenant)
    pipeline_env(server, BRIDGED_INCLUDE_METADATA="no")

    result = run_sync()  # first run: full snapshot through the export job
    assert result.success
    assert result.job_def.metadata["include_metadata"].value == "no"
    (fields,) = export_job_fields(server)
    assert "user_id" in fields and "identities" in fields
    assert not {"user_metadata", "app_metadata"} & set(fields)

    for user_id in sorted(tenant.users)[:5]:  # incremental run: user search
        tenant.update_user(user_id, user_metadata={"plan": "pro"}, app_metadata={"tier": "gold"})
    assert run_sync().success
    searches = search_fields(server)
    assert searches and all(not {"user_metadata", "app_metadata"} & set(f) for f in searches)
    assert stored_metadata(warehouse_path) == (0, 0, 0)
    assert warehouse_rows(warehouse_path)["users"] == expected_users(tenant), "everything but metadata is synced"


def test_switching_include_metadata_to_no_removes_stored_metadata(sandbox_factory, pipeline_env, run_sync, warehouse_path, monkeypatch):
    tenant = SandboxTenant.generate(users=100, seed=45)
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    (fields,) = export_job_fields(server)
    assert {"user_metadata", "app_metadata"} <= set(fields), "with yes, metadata is requested"
    assert all(count > 0 for count in stored_metadata(warehouse_path))

    monkeypatch.setenv("BRIDGED_INCLUDE_METADATA", "no")
    assert run_sync().success
    assert [set(f) & {"user_metadata", "app_metadata"} for f in export_job_fields(server)] == [{"user_metadata", "app_metadata"}, set()]
    assert stored_metadata(warehouse_path) == (0, 0, 0)
    assert warehouse_rows(warehouse_path)["users"] == expected_users(tenant)
