"""The sandbox's organizations, connections and clients: shapes from the Management API spec,
checkpoint paging, scopes, and the `sapi` events Auth0 logs for organization changes."""

from __future__ import annotations

import pytest

from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
from bridged_auth0_pipeline.sandbox.organizations import client_secret_for

from bridged_auth0_pipeline_tests.sandbox_fixtures import component_validator, management_client, response_validator
ALL_SCOPES = ("read:users", "read:logs", "read:roles", "read:organizations", "read:organization_members",
              "read:organization_member_roles", "read:connections", "read:clients", "read:client_keys")


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    return SandboxTenant.generate(users=300, seed=3, organizations=3)


@pytest.fixture(scope="module")
def api(tenant):
    with SandboxServer(tenant, scopes=ALL_SCOPES) as server, management_client(server) as client:
        yield client


# The checkpoint page schemas. The operations' `oneOf` cannot hold a last page (no `next`): it
# matches both the checkpoint and the offset schema, whose properties are all optional.
CHECKPOINT_SCHEMAS = {"organizations": "ListOrganizationsPaginatedResponseContent",
                      "members": "ListOrganizationMembersPaginatedResponseContent",
                      "connections": "ListConnectionsCheckpointPaginatedResponseContent",
                      "clients": "ListClientsPaginatedResponseContent"}


def _walk(api, path: str, key: str, take: int, **params) -> list[dict]:
    found, params = [], {"take": take, **params}
    while True:
        body = api.get(path, params=params).json()
        assert not list(component_validator(CHECKPOINT_SCHEMAS[key]).iter_errors(body)), body
        found += body[key]
        if "next" not in body:
            return found
        params = {**params, "from": body["next"]}


def test_organizations_and_members_page_by_checkpoint_in_the_specs_shapes(api, tenant):
    orgs = _walk(api, "/api/v2/organizations", "organizations", take=2)
    assert sorted(o["id"] for o in orgs) == sorted(tenant.organizations.by_id)
    assert all(o["branding"]["colors"]["primary"] and o["metadata"]["plan"] for o in orgs)
    org_id = orgs[0]["id"]
    members = _walk(api, f"/api/v2/organizations/{org_id}/members", "members", take=7)
    assert [m["user_id"] for m in members] == tenant.organizations.members[org_id]
    assert len(members) > 7 and "roles" not in members[0]
    offset = api.get(f"/api/v2/organizations/{org_id}/members", params={"per_page": 5, "include_totals": "true"}).json()
    assert not list(component_validator("ListOrganizationMembersOffsetPaginatedResponseContent").iter_errors(offset))
    assert offset["total"] == len(members)


def test_member_roles_come_with_fields_roles_or_per_member(api, tenant):
    org_id, (user_id, role_ids) = next(
        (org, (uid, roles)) for (org, uid), roles in tenant.organizations.member_roles.items() if roles)
    with_roles = _walk(api, f"/api/v2/organizations/{org_id}/members", "members", take=10, fields="user_id,roles")
    member = next(m for m in with_roles if m["user_id"] == user_id)
    assert [r["id"] for r in member["roles"]] == role_ids and set(member) == {"user_id", "roles"}
    per_member = api.get(f"/api/v2/organizations/{org_id}/members/{user_id}/roles").json()
    assert not list(response_validator("/organizations/{id}/members/{user_id}/roles").iter_errors(per_member))
    assert [r["id"] for r in per_member] == role_ids


def test_connections_and_clients_in_the_specs_shapes_secrets_only_with_read_client_keys(api, tenant):
    connections = _walk(api, "/api/v2/connections", "connections", take=4)
    assert {c["name"]: c["strategy"] for c in connections} == {c["name"]: c["strategy"] for c in tenant.connections.values()}
    google = next(c for c in connections if c["name"] == "google-oauth2")
    assert google["options"]["client_secret"]  # what the pipeline must drop
    enabled = api.get(f"/api/v2/connections/{google['id']}/clients", params={"take": 50}).json()
    assert not list(response_validator("/connections/{id}/clients").iter_errors(enabled))
    assert {c["client_id"] for c in enabled["clients"]} <= set(tenant.clients) and enabled["clients"]
    clients = _walk(api, "/api/v2/clients", "clients", take=3)
    assert {c["client_id"] for c in clients} == set(tenant.clients)
    assert all(c["client_secret"] == client_secret_for(c["client_id"]) and c["signing_keys"] for c in clients)


def test_connections_filter_by_name_and_pick_fields_as_in_auth0(api, tenant):
    picked = api.get("/api/v2/connections", params={"fields": "name,strategy", "include_fields": "true"}).json()
    assert picked and all(set(c) == {"name", "strategy"} for c in picked), "no options, so no IdP secret"
    left_out = api.get("/api/v2/connections", params={"fields": "options", "include_fields": "false"}).json()
    assert left_out and all("options" not in c and "strategy" in c for c in left_out)
    (github,) = api.get("/api/v2/connections", params={"name": "github"}).json()
    assert github["id"] == tenant.connections["github"]["id"]


def test_without_the_scope_the_reads_are_refused_with_its_name(tenant):
    with SandboxServer(tenant, scopes=("read:users", "read:organizations", "read:organization_members")) as server, \
            management_client(server) as client:
        org_id = next(iter(tenant.organizations.by_id))
        assert client.get("/api/v2/organizations").status_code == 200
        refused = client.get(f"/api/v2/organizations/{org_id}/members", params={"fields": "roles"})
        assert refused.status_code == 403 and "read:organization_member_roles" in refused.json()["message"]
        for path, scope in (("/api/v2/connections", "read:connections"), ("/api/v2/clients", "read:clients")):
            answer = client.get(path)
            assert answer.status_code == 403 and scope in answer.json()["message"]


def test_clients_without_read_client_keys_come_without_secrets_or_keys(tenant):
    with SandboxServer(tenant, scopes=("read:users", "read:clients")) as server, management_client(server) as client:
        answer = client.get("/api/v2/clients", params={"take": 50})
        assert answer.status_code == 200
        clients = answer.json()["clients"]
        assert {c["client_id"] for c in clients} == set(tenant.clients)
        assert all(c["name"] for c in clients)
        assert not [c["client_id"] for c in clients if {"client_secret", "signing_keys"} & c.keys()]


def test_organization_changes_are_logged_as_sapi_on_the_organizations_path():
    tenant = SandboxTenant.generate(users=20, seed=5)
    assert not tenant.organizations.by_id  # only when asked: existing tenants stay identical
    org = tenant.organizations.create("acme", "Acme Inc.")
    user_id = next(iter(tenant.users))
    tenant.organizations.add_members(org["id"], [user_id])
    event = tenant.logs[-1]
    assert event["type"] == "sapi"
    assert event["details"]["request"]["path"] == f"/api/v2/organizations/{org['id']}/members"
