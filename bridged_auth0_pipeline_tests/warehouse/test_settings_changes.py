"""A tenant's sync settings change between runs: the warehouse follows the new choice at the next run,
against the sandbox over real HTTP into a real DuckDB file."""

from __future__ import annotations

from bridged_auth0_pipeline.sandbox import SandboxTenant
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
