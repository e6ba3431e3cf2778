"""A tenant's sync settings change between runs: the warehouse follows the new choice at the next run,
against the sandbox over real HTTP into a real DuckDB file."""

from __future__ import annotations

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES
from bridged_auth0_pipeline_tests.extraction.test_organizations_sync import ALL, NAMING_SCOPES, ORG_SCOPES, build_tenant
from bridged_auth0_pipeline_tests.helpers import query


def test_include_metadata_no_empties_the_metadata_keys_also_without_the_user_metadata_data_object(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """`include_metadata no` stores no metadata: auth0.user_metadata (which playbooks.qualification scores)
    is emptied even when the data object user_metadata is off, and refilled, current, when it is back on."""
    tenant = SandboxTenant(name="metadata.auth0.test")
    tenant.add_user({"user_id": "auth0|u0", "email": "u0@example.com", "user_metadata": {"company": "Acme"},
                     "app_metadata": {"plan": "pro"}})
    tenant.add_user({"user_id": "auth0|u1", "email": "u1@example.com"})
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    keys = "SELECT user_id, source, key, value::VARCHAR FROM auth0.user_metadata ORDER BY ALL"
    assert query(warehouse_path, keys) == [("auth0|u0", "app_metadata", "plan", '"pro"'),
                                           ("auth0|u0", "user_metadata", "company", '"Acme"')]

    pipeline_env(server, BRIDGED_DATA_OBJECTS="users,logins", BRIDGED_INCLUDE_METADATA="no")
    assert run_sync().success
    assert query(warehouse_path, "SELECT count(*) FROM auth0.users WHERE user_metadata IS NOT NULL "
                                 "OR app_metadata IS NOT NULL") == [(0,)]
    assert query(warehouse_path, keys) == [], "metadata the tenant no longer syncs is still stored"
    assert query(warehouse_path, "SELECT user_id, plan, company FROM playbooks.qualification "
                                 "WHERE plan IS NOT NULL OR company IS NOT NULL") == []

    tenant.update_user("auth0|u0", user_metadata={"company": "NewCo"})
    pipeline_env(server, BRIDGED_DATA_OBJECTS="users,user_metadata,logins", BRIDGED_INCLUDE_METADATA="yes")
    assert run_sync().success
    assert query(warehouse_path, keys) == [("auth0|u0", "app_metadata", "plan", '"pro"'),
                                           ("auth0|u0", "user_metadata", "company", '"NewCo"')]
    assert query(warehouse_path, "SELECT plan, company FROM playbooks.qualification WHERE user_id = 'auth0|u0'") == [
        ("pro", "NewCo")]


def test_organizations_turned_off_score_nothing_and_turned_on_again_are_exact(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """While the data object organizations is off its tables keep their rows (nothing is lost), but
    playbooks.qualification no longer scores them, as without the data object; back on, a member
    added meanwhile is there and scored."""
    tenant = build_tenant()
    server = sandbox_factory(tenant, scopes=DEFAULT_SCOPES + ORG_SCOPES + NAMING_SCOPES)
    pipeline_env(server, BRIDGED_DATA_OBJECTS=ALL)
    assert run_sync().success
    points = "SELECT user_id, organization_points FROM playbooks.qualification WHERE organization_points > 0 ORDER BY 1"
    assert query(warehouse_path, points) == [("auth0|u0", 20), ("auth0|u1", 20), ("auth0|u2", 20)]

    pipeline_env(server, BRIDGED_DATA_OBJECTS="users,user_metadata,logins")
    assert run_sync().success
    assert query(warehouse_path, "SELECT count(*) FROM auth0.organization_members") == [(4,)], "rows are kept"
    assert query(warehouse_path, points) == [], "organizations no longer synced are scored as current"

    acme = next(org_id for org_id, org in tenant.organizations.by_id.items() if org["name"] == "acme")
    tenant.organizations.add_members(acme, ["auth0|u4"])
    pipeline_env(server, BRIDGED_DATA_OBJECTS=ALL)
    assert run_sync().success
    assert query(warehouse_path, "SELECT user_id FROM auth0.organization_members WHERE org_id = ? ORDER BY 1",
                 [acme]) == [(user_id,) for user_id in tenant.organizations.members[acme]]
    assert query(warehouse_path, points) == [(f"auth0|u{n}", 20) for n in (0, 1, 2, 4)]
