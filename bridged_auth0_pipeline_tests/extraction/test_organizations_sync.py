"""Organizations, members, member roles, connections and clients land exactly; scopes; member
refresh on an organization change in the log; no client secret or key ever reaches the warehouse."""

from __future__ import annotations

import json
import logging

import dagster as dg

import pytest

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.sandbox.organizations import client_secret_for
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES
from bridged_auth0_pipeline_tests.helpers import management_writer, ok, query
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_no_secrets_in_warehouse

ORG_SCOPES = ("read:organizations", "read:organization_members", "read:organization_member_roles")
NAMING_SCOPES = ("read:connections", "read:clients", "read:client_keys")  # client_keys: the sandbox sends secrets
ALL = "users,user_metadata,logins,organizations"


def build_tenant() -> SandboxTenant:
    """Two organizations by hand: Acme (3 members, two with roles there) and Globex (1 member, no role)."""
    tenant = SandboxTenant(name="orgs.auth0.test")
    for n in range(5):
        tenant.add_user({"user_id": f"auth0|u{n}", "email": f"u{n}@example.com"})
    admin = tenant.create_role_silently("org-admin", "Administers the organization")
    buyer = tenant.create_role_silently("buyer")
    orgs = tenant.organizations
    acme = orgs.create("acme", "Acme Inc.", branding={"logo_url": "https://acme.test/logo.png"}, metadata={"tier": "gold"})
    globex = orgs.create("globex", "Globex")
    orgs.add_members(acme["id"], ["auth0|u0", "auth0|u1", "auth0|u2"])
    orgs.add_members(globex["id"], ["auth0|u2"])
    orgs.assign_roles(acme["id"], "auth0|u0", [admin["id"], buyer["id"]])
    orgs.assign_roles(acme["id"], "auth0|u1", [buyer["id"]])
    tenant.add_log("s", user_id="auth0|u0", client_id="kW3nQ8vT2rYp6sLz1mXc4bHd9fJg5aNe", client_name="Bridged Web")
    return tenant


def members_reread(result) -> str:
    """Why this run re-read the organizations' members ("no (unchanged)" when it did not)."""
    return next(m.materialization.metadata for m in result.get_asset_materialization_events()
                if m.asset_key.path == ["auth0_staging", "organizations"])["members_reread"].value


def test_the_sync_lands_organizations_members_roles_connections_and_clients_exactly(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = build_tenant()
    server = sandbox_factory(tenant, scopes=DEFAULT_SCOPES + ORG_SCOPES + NAMING_SCOPES)
    pipeline_env(server, BRIDGED_DATA_OBJECTS=ALL)
    assert run_sync().success
    acme, globex = (o["id"] for o in sorted(tenant.organizations.by_id.values(), key=lambda o: o["name"]))
    admin, buyer = ({r["name"]: r["id"] for r in tenant.roles.values()}[name] for name in ("org-admin", "buyer"))
    assert query(warehouse_path, "SELECT org_id, name, display_name, branding::VARCHAR, metadata::VARCHAR, deleted_at "
                                 "FROM auth0.organizations ORDER BY name") == [
        (acme, "acme", "Acme Inc.", json.dumps({"logo_url": "https://acme.test/logo.png"}, separators=(",", ":")),
         '{"tier":"gold"}', None),
        (globex, "globex", "Globex", None, None, None)]
    assert sorted(query(warehouse_path, "SELECT org_id, user_id FROM auth0.organization_members")) == sorted(
        [(acme, "auth0|u0"), (acme, "auth0|u1"), (acme, "auth0|u2"), (globex, "auth0|u2")])
    assert sorted(query(warehouse_path, "SELECT org_id, user_id, role_id FROM auth0.organization_member_roles")) == sorted(
        [(acme, "auth0|u0", admin), (acme, "auth0|u0", buyer), (acme, "auth0|u1", buyer)])
    connections = {name: (c_id, strategy, method, sorted(clients)) for c_id, name, strategy, method, clients in
                   query(warehouse_path, "SELECT connection_id, name, strategy, method_type, enabled_clients FROM auth0.connections")}
    assert {name: c[2] for name, c in connections.items()} == {
        "Username-Password-Authentication": "database", "google-oauth2": "social", "github": "social",
        "acme-saml": "enterprise", "contoso-waad": "enterprise", "sms": "passwordless"}
    assert connections["github"][0] == tenant.connections["github"]["id"]
    assert connections["github"][3] == ["kW3nQ8vT2rYp6sLz1mXc4bHd9fJg5aNe"]  # Bridged Web only
    assert sorted(query(warehouse_path, "SELECT client_id, name, app_type, is_first_party FROM auth0.clients")) == sorted(
        (c["client_id"], c["name"], c["app_type"], c["is_first_party"]) for c in tenant.clients.values())
    # No credential anywhere in the file: the clients' secrets, the IdPs' secrets in connection options, keys.
    secrets = [client_secret_for(c) for c in tenant.clients] + [client_secret_for("idp:" + n) for n in tenant.connections]
    assert_no_secrets_in_warehouse(warehouse_path, [*secrets, "BEGIN CERTIFICATE", "MIIsandbox"])

    # A member added through the API shows as a sapi on /api/v2/organizations/...: the next run re-reads members.
    tenant.organizations.add_members(globex, ["auth0|u3"])
    assert "organization changes" in members_reread(run_sync())
    assert (globex, "auth0|u3") in query(warehouse_path, "SELECT org_id, user_id FROM auth0.organization_members")
    # No change: members carried forward, not re-read.
    assert members_reread(run_sync()) == "no (unchanged)"
    assert len(query(warehouse_path, "SELECT * FROM auth0.organization_members")) == 5


def test_a_member_deleted_or_linked_into_another_user_leaves_its_organizations(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """Auth0 removes a deleted user, and a user linked into another (a `sapi` on /identities and no
    event of its own), from its organizations; the next run's members equal the tenant's."""
    tenant = build_tenant()
    server = sandbox_factory(tenant, scopes=DEFAULT_SCOPES + ORG_SCOPES + ("update:users", "delete:users"))
    pipeline_env(server, BRIDGED_DATA_OBJECTS=ALL)
    # Settled: members re-read ahead of the log cover only events before them (REREAD_MARGIN), so
    # the setup's own events re-read them once or twice more; then only a change in the log does.
    assert "no (unchanged)" in [members_reread(run_sync()) for _ in range(3)]
    assert members_reread(run_sync()) == "no (unchanged)"

    def members_in_warehouse() -> set[str]:
        members = sorted(query(warehouse_path, "SELECT org_id, user_id FROM auth0.organization_members"))
        assert members == sorted((org, uid) for org, uids in tenant.organizations.members.items() for uid in uids)
        with_roles = query(warehouse_path, "SELECT DISTINCT user_id FROM auth0.organization_member_roles")
        assert {uid for (uid,) in with_roles} == {uid for _, uid in tenant.organizations.member_roles}
        return {uid for _, uid in members}

    with management_writer(server) as admin:
        ok(admin.post("/api/v2/users/auth0|u0/identities", json={"provider": "auth0", "user_id": "u1"}))
        assert run_sync().success
        assert members_in_warehouse() == {"auth0|u0", "auth0|u2"}, "u1 was linked away"
        ok(admin.delete("/api/v2/users/auth0|u2"))
        assert run_sync().success
        assert members_in_warehouse() == {"auth0|u0"}, "u2 was deleted"


@pytest.mark.parametrize("missing", ORG_SCOPES)
def test_organizations_selected_without_a_scope_fail_naming_it(sandbox_factory, pipeline_env, run_sync, missing):
    server = sandbox_factory(build_tenant(), scopes=DEFAULT_SCOPES + tuple(s for s in ORG_SCOPES if s != missing))
    pipeline_env(server, BRIDGED_DATA_OBJECTS=ALL)
    result = run_sync(raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert missing in str(failure.event_specific_data.error)


def test_without_connections_and_clients_scopes_the_sync_warns_and_goes_on(
        sandbox_factory, pipeline_env, run_sync, warehouse_path):
    server = sandbox_factory(build_tenant())  # the default scopes: no read:connections, no read:clients
    pipeline_env(server)
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_sync(instance=instance)
        assert result.success
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    assert [w for w in warnings if "lacks read:connections" in w] and [w for w in warnings if "lacks read:clients" in w]
    staged = next(m.materialization.metadata for m in result.get_asset_materialization_events()
                  if m.asset_key.path == ["auth0_staging", "connections"])
    assert staged["skipped_for_missing_scope"].value == "connections (read:connections), clients (read:clients)"
    assert query(warehouse_path, "SELECT count(*) FROM auth0.users")[0][0] == 5
    assert query(warehouse_path, "SELECT count(*) FROM auth0.connections")[0][0] == 0
    assert query(warehouse_path, "SELECT count(*) FROM auth0.organizations")[0][0] == 0  # not selected by default
