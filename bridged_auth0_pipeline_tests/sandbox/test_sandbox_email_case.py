"""The sandbox stores a database user's email in lower case, as Auth0 does; other users' as given.

Auth0 (Management API docs, "Search Users by Email"): "If Auth0 is the identify provider (idP), the
email address associated with a user is saved in lower case, regardless of how you initially
provided it. For example, if you register a user as JohnSmith@example.com, Auth0 saves the user's
email as johnsmith@example.com. In cases where Auth0 is not the idP, the email is stored based on the
rules of idP". The rule holds for the Management API (create, update) and for seeding the tenant
directly, which stands for what Auth0 would hold.
"""

from __future__ import annotations

import pytest

from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES

from bridged_auth0_pipeline_tests.sandbox_fixtures import management_client, response_validator

DB = "Username-Password-Authentication"
SAML_USER = "samlp|acme-saml|Dana@Acme.io"
GOOGLE_USER = "google-oauth2|101400000000000000014"


@pytest.fixture
def tenant() -> SandboxTenant:
    tenant = SandboxTenant()
    tenant.add_user({"user_id": SAML_USER, "email": "Dana@Acme.io", "email_verified": True,
                     "identities": [{"provider": "samlp", "user_id": "acme-saml|Dana@Acme.io",
                                     "connection": "acme-saml", "isSocial": False}]})
    tenant.add_user({"user_id": GOOGLE_USER, "email": "Dana.G@Gmail.com",
                     "identities": [{"provider": "google-oauth2", "user_id": GOOGLE_USER.split("|")[1],
                                     "connection": "google-oauth2", "isSocial": True}]})
    return tenant


@pytest.fixture
def api(tenant):
    scopes = DEFAULT_SCOPES + ("create:users", "update:users")
    with SandboxServer(tenant, scopes=scopes) as server, management_client(server) as client:
        yield client


def test_creating_a_database_user_stores_its_email_in_lower_case(api, tenant):
    created = api.post("/api/v2/users", json={"connection": DB, "email": "JohnSmith@Example.com",
                                              "password": "Str0ng!Passw0rd", "given_name": "John"})

    assert created.status_code == 201, created.text
    user = created.json()
    assert not list(response_validator("/users", "post", "201").iter_errors(user))
    assert user["email"] == "johnsmith@example.com"
    assert user["user_id"].startswith("auth0|") and user["given_name"] == "John"
    assert user["identities"] == [{"connection": DB, "provider": "auth0", "user_id": user["user_id"][6:],
                                   "isSocial": False}]
    assert tenant.users[user["user_id"]]["email"] == "johnsmith@example.com"
    assert api.get(f"/api/v2/users/{user['user_id']}").json()["email"] == "johnsmith@example.com"
    # /users-by-email stays case-sensitive: the address as typed at sign-up is not what is stored
    assert [u["user_id"] for u in api.get("/api/v2/users-by-email",
                                          params={"email": "johnsmith@example.com"}).json()] == [user["user_id"]]
    assert api.get("/api/v2/users-by-email", params={"email": "JohnSmith@Example.com"}).json() == []
    # the same address in another case is the same database user
    again = api.post("/api/v2/users", json={"connection": DB, "email": "JOHNSMITH@example.com",
                                            "password": "Str0ng!Passw0rd"})
    assert again.status_code == 409
    assert again.json()["message"] == "The user already exists."
    sapi = [event for event in tenant.logs if event["type"] == "sapi"]
    assert [e["details"]["response"]["statusCode"] for e in sapi] == [201]
    assert sapi[0]["details"]["request"]["body"] == {"connection": DB, "email": "JohnSmith@Example.com",
                                                    "given_name": "John"}, "the request as sent, no password"


def test_changing_a_database_users_email_stores_it_in_lower_case(api, tenant):
    user_id = api.post("/api/v2/users", json={"connection": DB, "email": "john@example.com",
                                              "password": "Str0ng!Passw0rd"}).json()["user_id"]

    changed = api.patch(f"/api/v2/users/{user_id}", json={"email": "JohnSmith@Example.com"})

    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "johnsmith@example.com"
    assert tenant.users[user_id]["email"] == "johnsmith@example.com"


def test_a_non_database_users_email_keeps_its_case(api, tenant):
    assert api.get(f"/api/v2/users/{SAML_USER}").json()["email"] == "Dana@Acme.io"
    assert api.get(f"/api/v2/users/{GOOGLE_USER}").json()["email"] == "Dana.G@Gmail.com"

    changed = api.patch(f"/api/v2/users/{SAML_USER}", json={"email": "Dana.Smith@Acme.io"})

    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == tenant.users[SAML_USER]["email"] == "Dana.Smith@Acme.io"


def test_seeding_the_tenant_follows_the_same_rule(tenant):
    # without identities a user's connection comes from its id: auth0| is the database
    plain = tenant.add_user({"user_id": "auth0|0001", "email": "Ann@Example.com"})
    # a linked database identity's profileData is Auth0's too; a linked Google one keeps its case
    linked = tenant.add_user({
        "user_id": "github|42", "email": "Ann.GH@Example.com",
        "identities": [{"provider": "github", "user_id": 42, "connection": "github", "isSocial": True},
                       {"provider": "auth0", "user_id": "0002", "connection": DB, "isSocial": False,
                        "profileData": {"email": "Ann@Example.com", "email_verified": True}},
                       {"provider": "google-oauth2", "user_id": "7", "connection": "google-oauth2",
                        "isSocial": True, "profileData": {"email": "Ann@Example.com"}}]})

    assert plain["email"] == tenant.users["auth0|0001"]["email"] == "ann@example.com"
    assert linked["email"] == "Ann.GH@Example.com"
    assert [i.get("profileData", {}).get("email") for i in linked["identities"]] == [
        None, "ann@example.com", "Ann@Example.com"]
    assert tenant.update_user("auth0|0001", email="ANN@EXAMPLE.COM")["email"] == "ann@example.com"
    assert tenant.patch_user(SAML_USER, {"email": "DANA@Acme.io"})["email"] == "DANA@Acme.io"


def test_generated_tenants_hold_database_emails_in_lower_case_only():
    tenant = SandboxTenant.generate(users=600, seed=3)
    database = [u["email"] for u in tenant.users.values()
                if u["identities"][0]["provider"] == "auth0" and "email" in u]
    others = [u["email"] for u in tenant.users.values()
              if u["identities"][0]["provider"] != "auth0" and "email" in u]
    assert database and all(email == email.lower() for email in database)
    assert any(email != email.lower() for email in others), "social accounts keep a mixed-case address"
