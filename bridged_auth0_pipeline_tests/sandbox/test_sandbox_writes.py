"""The sandbox's Management API writes and log retention behave as Auth0's, over real HTTP.

Writes: account linking and unlinking, profile updates, deletions, role grants and revokes, each
answered with Auth0's status and shape and logged as a `sapi` event carrying the request (method,
path, body without secrets) and the response status. Logs: `GET /api/v2/logs/{id}`, a retention
window, and both answers to a checkpoint `from` past it.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES

from bridged_auth0_pipeline_tests.sandbox_fixtures import management_client
WRITE_SCOPES = DEFAULT_SCOPES + ("update:users", "delete:users", "create:role_members", "delete:role_members")


@pytest.fixture
def tenant() -> SandboxTenant:
    return SandboxTenant.generate(users=60, seed=21)


@pytest.fixture
def api(tenant):
    with SandboxServer(tenant, scopes=WRITE_SCOPES) as server, management_client(server) as client:
        yield client


def single_identity_users(tenant: SandboxTenant, count: int) -> list[str]:
    return [uid for uid in sorted(tenant.users) if len(tenant.users[uid]["identities"]) == 1][:count]


def last_event(tenant: SandboxTenant, type_: str = "sapi") -> dict:
    return next(event for event in reversed(tenant.logs) if event["type"] == type_)


def test_link_removes_the_secondary_without_sdu_and_unlink_brings_it_back(api, tenant):
    primary, secondary = single_identity_users(tenant, 2)
    role_id = next(iter(tenant.roles))
    tenant.add_role_members(role_id, [secondary])
    tenant.update_user(secondary, user_metadata={"lost": "on link"}, email_verified=True)
    secondary_profile = dict(tenant.users[secondary])
    before = dict(tenant.users[primary])
    log_count = len(tenant.logs)
    provider, _, identity_id = secondary.partition("|")

    linked = api.post(f"/api/v2/users/{primary}/identities", json={"provider": provider, "user_id": identity_id})

    assert linked.status_code == 201
    assert [(i["provider"], str(i["user_id"])) for i in linked.json()] == [
        (i["provider"], str(i["user_id"])) for i in before["identities"]] + [(provider, identity_id)]
    assert linked.json()[1]["profileData"]["email"] == secondary_profile["email"]
    assert api.get(f"/api/v2/users/{secondary}").status_code == 404
    assert tenant.users[primary]["updated_at"] > before["updated_at"]
    assert secondary not in tenant.role_members[role_id]
    new_events = tenant.logs[log_count:]
    assert [e["type"] for e in new_events] == ["sapi"], "linking writes no sdu"
    assert new_events[0]["details"] == {
        "request": {"method": "post", "path": f"/api/v2/users/{primary}/identities",
                    "body": {"provider": provider, "user_id": identity_id}},
        "response": {"statusCode": 201}}

    unlinked = api.delete(f"/api/v2/users/{primary}/identities/{provider}/{identity_id}")

    assert unlinked.status_code == 200
    assert unlinked.json() == before["identities"]
    back = api.get(f"/api/v2/users/{secondary}").json()
    assert back["email"] == secondary_profile["email"] and back["email_verified"] is True
    assert [(i["provider"], i["user_id"]) for i in back["identities"]] == [(provider, identity_id)]
    assert "user_metadata" not in back, "Auth0: the unlinked account has no metadata"
    assert back["created_at"] == back["updated_at"] > secondary_profile["updated_at"]
    assert tenant.users[primary]["identities"] == before["identities"]
    assert last_event(tenant)["details"]["request"]["method"] == "delete"
    assert last_event(tenant)["details"]["response"] == {"statusCode": 200}


def test_link_and_unlink_errors(api, tenant):
    primary, other = single_identity_users(tenant, 2)
    provider, _, identity_id = primary.partition("|")
    same = api.post(f"/api/v2/users/{primary}/identities", json={"provider": provider, "user_id": identity_id})
    assert same.status_code == 400 and same.json()["message"] == "Main identity and the new one are the same."
    missing = api.post(f"/api/v2/users/{primary}/identities", json={"provider": "auth0", "user_id": "nobody"})
    assert missing.status_code == 400
    assert api.post("/api/v2/users/auth0%7Cnobody/identities",
                    json={"provider": "auth0", "user_id": other.partition("|")[2]}).status_code == 404
    jwt = api.post(f"/api/v2/users/{primary}/identities", json={"link_with": "eyJ.secret.jwt"})
    assert jwt.status_code == 400
    assert api.post(f"/api/v2/users/{primary}/identities", json={"provider": "auth0", "id": "x"}).status_code == 400
    main = api.delete(f"/api/v2/users/{primary}/identities/{provider}/{identity_id}")
    assert main.status_code == 400, "the main identity cannot be unlinked"
    assert primary in tenant.users and other in tenant.users
    assert not any(e["type"] == "sapi" and "identities" in e["details"]["request"]["path"] for e in tenant.logs)


def test_patch_merges_metadata_removes_nulls_and_logs_the_body_without_the_password(api, tenant):
    user_id = single_identity_users(tenant, 1)[0]
    tenant.update_user(user_id, user_metadata={"a": 1, "b": {"x": 1}, "c": 3}, app_metadata={"plan": "pro"})

    reply = api.patch(f"/api/v2/users/{user_id}", json={
        "email": "changed@example.com", "blocked": True, "password": "Sup3r-secret!", "nickname": None,
        "user_metadata": {"a": None, "b": {"y": 2}, "d": 4}, "app_metadata": {}})

    assert reply.status_code == 200
    user = reply.json()
    assert user["email"] == "changed@example.com" and user["blocked"] is True and "nickname" not in user
    assert user["user_metadata"] == {"b": {"y": 2}, "c": 3, "d": 4}, "merged one level deep; null removes"
    assert "app_metadata" not in user, "{} clears the metadata"
    assert tenant.users[user_id] == user
    event = last_event(tenant)
    assert event["details"]["request"]["method"] == "patch"
    assert "password" not in event["details"]["request"]["body"]
    assert "Sup3r-secret!" not in repr(event)
    assert event["details"]["response"] == {"statusCode": 200}
    assert api.patch(f"/api/v2/users/{user_id}", json={"blocked": "yes"}).status_code == 400
    assert api.patch("/api/v2/users/auth0%7Cnobody", json={"blocked": True}).status_code == 404


def test_delete_answers_204_and_writes_sdu_and_sapi(api, tenant):
    user_id = single_identity_users(tenant, 1)[0]
    reply = api.delete(f"/api/v2/users/{user_id}")
    assert reply.status_code == 204 and reply.content == b""
    assert user_id not in tenant.users
    assert [e["type"] for e in tenant.logs[-2:]] == ["sdu", "sapi"]
    assert tenant.logs[-2]["user_id"] == user_id
    assert tenant.logs[-1]["details"]["response"] == {"statusCode": 204}
    assert api.get(f"/api/v2/users/{user_id}").status_code == 404


def test_role_grants_and_revokes_through_both_endpoints(api, tenant):
    first, second = single_identity_users(tenant, 2)
    role_id = sorted(tenant.roles)[0]
    tenant.remove_role_members(role_id, [first, second])

    granted = api.post(f"/api/v2/users/{first}/roles", json={"roles": [role_id]})
    assert granted.status_code == 204 and first in tenant.role_members[role_id]
    assert last_event(tenant)["details"]["request"] == {
        "method": "post", "path": f"/api/v2/users/{first}/roles", "body": {"roles": [role_id]}}
    added = api.post(f"/api/v2/roles/{role_id}/users", json={"users": [second]})
    assert added.status_code == 200 and second in tenant.role_members[role_id]
    assert last_event(tenant)["details"]["request"]["path"] == f"/api/v2/roles/{role_id}/users"
    revoked = api.request("DELETE", f"/api/v2/users/{first}/roles", json={"roles": [role_id]})
    assert revoked.status_code == 204 and first not in tenant.role_members[role_id]
    assert last_event(tenant)["details"]["response"] == {"statusCode": 204}
    roles = api.get(f"/api/v2/users/{second}/roles").json()
    assert role_id in [r["id"] for r in roles]

    assert api.post(f"/api/v2/users/{first}/roles", json={"roles": ["rol_missing"]}).status_code == 404
    assert api.post(f"/api/v2/users/{first}/roles", json={"roles": []}).status_code == 400
    assert api.post(f"/api/v2/roles/{role_id}/users", json={"users": ["auth0|nobody"]}).status_code == 404


def test_writes_need_the_write_scopes(tenant):
    with SandboxServer(tenant) as server, management_client(server) as client:
        user_id = sorted(tenant.users)[0]
        denied = client.patch(f"/api/v2/users/{user_id}", json={"blocked": True})
        assert denied.status_code == 403
        assert denied.json()["message"] == ("Insufficient scope, expected any of: update:users, "
                                            "update:users_app_metadata, update:current_user_metadata")
        assert client.delete(f"/api/v2/users/{user_id}").status_code == 403
        assert client.post(f"/api/v2/users/{user_id}/identities", json={}).status_code == 403
        assert user_id in tenant.users and "blocked" not in tenant.users[user_id]


def test_get_log_by_id_and_the_retention_window(tenant):
    now = tenant.now()
    tenant.clock = lambda: now
    with SandboxServer(tenant) as server, management_client(server) as client:
        for hours in (50, 30, 10):
            tenant.add_log("s", user_id=sorted(tenant.users)[0], date=now - timedelta(hours=hours))
        old, middle, recent = (e["log_id"] for e in tenant.logs[-3:])
        assert client.get(f"/api/v2/logs/{old}").json()["log_id"] == old

        tenant.retention_days = 1  # the Starter plan
        gone = client.get(f"/api/v2/logs/{old}")
        assert gone.status_code == 404 and gone.json()["statusCode"] == 404
        assert client.get(f"/api/v2/logs/{middle}").status_code == 404
        assert client.get(f"/api/v2/logs/{recent}").status_code == 200
        assert all(e["date"] >= (now - timedelta(days=1)).isoformat()[:19] for e in tenant.logs)

        refused = client.get("/api/v2/logs", params={"from": old, "take": 5})
        assert refused.status_code == 400
        tenant.expired_from = "oldest"
        silent = client.get("/api/v2/logs", params={"from": old, "take": 5})
        assert silent.status_code == 200
        assert [e["log_id"] for e in silent.json()] == [e["log_id"] for e in tenant.logs[:5]]
        assert silent.json()[0]["log_id"] == tenant.logs[0]["log_id"], "starts at the oldest retained event"


def test_admin_endpoint_sets_the_retention(tenant):
    with SandboxServer(tenant) as server:
        url = f"{server.base_url}/__sandbox/logs/retention"
        assert httpx.post(url, json={"days": 0}).status_code == 400
        assert httpx.post(url, json={"expired_from": "sometimes"}).status_code == 400
        reply = httpx.post(url, json={"days": 5, "expired_from": "oldest"})
        assert reply.status_code == 200 and reply.json()["days"] == 5 and reply.json()["expired_from"] == "oldest"
        assert (tenant.retention_days, tenant.expired_from) == (5, "oldest")
