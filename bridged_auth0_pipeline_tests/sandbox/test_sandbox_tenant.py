"""The tenant model: synthetic generation, mutations, search semantics and the command line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.sandbox.search import QueryError, parse_query, run_query

REPO = Path(__file__).resolve().parents[2]
USER_FIELDS = {"user_id", "email", "email_verified", "username", "phone_number", "phone_verified",
               "name", "nickname", "given_name", "family_name", "picture", "created_at",
               "updated_at", "last_login", "last_ip", "logins_count", "blocked", "multifactor",
               "app_metadata", "user_metadata", "identities"}


@pytest.fixture(scope="module")
def tenant():
    return SandboxTenant.generate(users=4000, seed=7, shared_timestamp_users=25)


def test_generation_is_deterministic():
    a = SandboxTenant.generate(users=300, seed=21)
    b = SandboxTenant.generate(users=300, seed=21)
    c = SandboxTenant.generate(users=300, seed=22)
    assert json.dumps(a.users, sort_keys=True) == json.dumps(b.users, sort_keys=True)
    assert a.logs == b.logs
    assert a.roles == b.roles and a.role_members == b.role_members
    assert set(a.users) != set(c.users)


def test_profiles_look_like_auth0(tenant):
    assert len(tenant.users) == 4000
    for uid, user in tenant.users.items():
        assert set(user) <= USER_FIELDS
        assert all(v is not None for v in user.values())  # absent, never null
        assert user["user_id"] == uid
        first = user["identities"][0]
        assert uid == f"{first['provider']}|{first['user_id']}"
        for field in ("created_at", "updated_at", "last_login"):
            if field in user:
                datetime.strptime(user[field], "%Y-%m-%dT%H:%M:%S.%fZ")
                assert len(user[field]) == 24
        if "last_login" in user:
            assert user["updated_at"] >= user["last_login"] >= user["created_at"]
        else:
            assert user["logins_count"] == 0


def test_generated_tenant_covers_the_awkward_cases(tenant):
    users = list(tenant.users.values())
    providers = {u["identities"][0]["provider"] for u in users}
    assert providers == {"auth0", "google-oauth2", "github", "samlp", "waad", "sms"}
    github = [u for u in users if u["user_id"].startswith("github|")]
    assert github and all(isinstance(u["identities"][0]["user_id"], int) for u in github)
    sms = [u for u in users if u["user_id"].startswith("sms|")]
    assert sms and all("email" not in u and u["phone_number"].startswith("+") for u in sms)
    enterprise = [u for u in users if u["identities"][0]["provider"] in ("samlp", "waad")]
    assert enterprise and not any(u["identities"][0]["isSocial"] for u in enterprise)
    linked = [u for u in users if len(u["identities"]) > 1]
    assert linked and all("profileData" in i for u in linked for i in u["identities"][1:])
    assert any("access_token" in i for u in users for i in u["identities"])
    assert any("refresh_token" in i for u in users for i in u["identities"])
    emails: dict[str, set[str]] = {}
    for u in users:
        if u.get("email_verified"):
            emails.setdefault(u["email"].casefold(), set()).add(u["email"])
    assert any(len(variants) > 1 for variants in emails.values())
    assert any(u.get("email_verified") is False for u in users)
    assert any(u.get("blocked") for u in users)
    assert any(u.get("multifactor") == ["guardian"] for u in users)
    assert any("user_metadata" not in u for u in users)
    assert any(u.get("user_metadata") == {} for u in users)
    assert any("app_metadata" not in u for u in users)
    plans = {(u.get("app_metadata") or {}).get("plan") for u in users}
    assert {"free", "pro", "enterprise"} <= plans
    assert any("company" in (u.get("user_metadata") or {}) for u in users)
    weird = next(u["user_metadata"] for u in users if "display.name" in u.get("user_metadata", {}))
    assert 'say "hi"' in weird and weird["null_value"] is None
    assert any("🦊" in str(v) for v in weird.values())
    stamps: dict[str, int] = {}
    for u in users:
        stamps[u["updated_at"]] = stamps.get(u["updated_at"], 0) + 1
    assert max(stamps.values()) == 25
    assert {r["name"] for r in tenant.roles.values()} == {
        "admin", "editor", "viewer", "billing", "support"}
    assert all(members == sorted(members) and set(members) <= set(tenant.users)
               for members in tenant.role_members.values())


def test_generated_logs(tenant):
    log_ids = [e["log_id"] for e in tenant.logs]
    assert log_ids == sorted(log_ids) and len(set(map(len, log_ids))) == 1
    assert len(set(log_ids)) == len(log_ids)
    dates = [e["date"] for e in tenant.logs]
    assert dates == sorted(dates)
    types = {e["type"] for e in tenant.logs}
    assert {"s", "f", "fp", "fu", "slo", "sdu", "sapi", "api_limit"} <= types
    assert any(t.startswith("gd_") for t in types)
    deleted = {e["user_id"] for e in tenant.logs if e["type"] == "sdu"}
    assert deleted and not deleted & set(tenant.users)
    tenant_level = [e for e in tenant.logs if "user_id" not in e]
    assert tenant_level and all(e["type"] in ("sapi", "seccft", "api_limit", "feccft", "depnote")
                                for e in tenant_level)
    login = next(e for e in tenant.logs if e["type"] == "s")
    assert {"log_id", "date", "type", "description", "client_id", "client_name", "ip",
            "user_agent", "hostname", "user_id", "user_name", "connection", "connection_id",
            "strategy", "strategy_type", "isMobile", "details", "location_info"} <= set(login)
    assert set(login["location_info"]) >= {"country_code", "country_name", "city_name",
                                           "latitude", "longitude", "time_zone"}


def test_mutations():
    now = [datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)]
    tenant = SandboxTenant()
    tenant.clock = lambda: now[0]
    user = tenant.add_user({"email": "a@example.com", "user_metadata": {"k": [1, None]}})
    assert user["user_id"].startswith("auth0|") and len(user["user_id"]) == 30
    assert user["created_at"] == user["updated_at"] == "2026-05-01T12:00:00.000Z"
    assert user["identities"] == [{"connection": "Username-Password-Authentication",
                                   "provider": "auth0", "user_id": user["user_id"][6:],
                                   "isSocial": False}]
    assert tenant.logs[-1]["type"] == "ss" and tenant.logs[-1]["user_id"] == user["user_id"]
    gh = tenant.add_user({"user_id": "github|42", "name": "Octo"})
    assert gh["identities"][0]["user_id"] == 42 and gh["identities"][0]["isSocial"] is True

    now[0] += timedelta(minutes=5)
    updated = tenant.update_user(user["user_id"], name="Ann", user_metadata=None)
    assert updated["updated_at"] == "2026-05-01T12:05:00.000Z"
    assert updated["name"] == "Ann" and "user_metadata" not in updated
    kept = tenant.update_user(user["user_id"], updated_at="2020-01-01T00:00:00Z")
    assert kept["updated_at"] == "2020-01-01T00:00:00.000Z"

    role = tenant.add_role("admin", "Admins")
    tenant.assign_role(role["id"], [gh["user_id"], user["user_id"]])
    assert tenant.role_members[role["id"]] == sorted([gh["user_id"], user["user_id"]])
    tenant.delete_user(user["user_id"])
    assert user["user_id"] not in tenant.users
    assert tenant.role_members[role["id"]] == [gh["user_id"]]
    sdu = tenant.logs[-1]
    assert sdu["type"] == "sdu" and sdu["user_id"] == user["user_id"]
    assert sdu["connection"] == "Username-Password-Authentication"

    event = tenant.add_log("api_limit")
    assert "user_id" not in event and tenant.logs[-1]["log_id"] == event["log_id"]
    custom = tenant.add_log("brand_new_type", user_id=gh["user_id"], description="x")
    assert custom["type"] == "brand_new_type" and custom["user_name"] == "Octo"
    assert [e["log_id"] for e in tenant.logs] == sorted(e["log_id"] for e in tenant.logs)
    with pytest.raises(ValueError):
        tenant.add_user({"user_id": "github|42"})
    with pytest.raises(KeyError):
        tenant.update_user("auth0|missing", name="x")


def test_users_are_copied_on_write():
    tenant = SandboxTenant()
    user = tenant.add_user({"email": "a@example.com"})
    before = tenant.users[user["user_id"]]
    tenant.update_user(user["user_id"], name="changed")
    assert "name" not in before  # snapshots taken earlier stay as they were
    assert tenant.users[user["user_id"]]["name"] == "changed"


def test_search_semantics():
    docs = [
        {"user_id": "a|1", "email": "Jane@Example.com", "updated_at": "2026-01-01T00:00:00.000Z",
         "blocked": True, "logins_count": 5, "identities": [{"connection": "github"}],
         "app_metadata": {"plan": "pro"}},
        {"user_id": "a|2", "email": "bob@example.com", "updated_at": "2026-01-31T23:59:59.999Z",
         "logins_count": 50, "identities": [{"connection": "sms"}, {"connection": "github"}]},
        {"user_id": "a|3", "updated_at": "2026-02-01T00:00:00.000Z"},
    ]

    def hits(q):
        return [d["user_id"] for d in run_query(parse_query(q), docs)]

    assert hits('email:"jane@example.com"') == ["a|1"]
    assert hits("email:*@example.com") == ["a|1", "a|2"]
    assert hits("updated_at:[2026-01-01 TO 2026-01-31]") == ["a|1", "a|2"]
    assert hits("updated_at:{2026-01-01T00:00:00.000Z TO *]") == ["a|2", "a|3"]
    assert hits("updated_at:[* TO 2026-02-01T00:00:00.000Z}") == ["a|1", "a|2"]
    assert hits("updated_at:[2026-01-01T02:00:00+02:00 TO 2026-01-01T00:00:00Z]") == ["a|1"]
    assert hits("identities.connection:github AND NOT blocked:true") == ["a|2"]
    assert hits("blocked:false") == []  # a missing field never matches
    assert hits("logins_count:[10 TO *]") == ["a|2"] == hits("logins_count:>5")
    assert hits("logins_count:>=5") == ["a|1", "a|2"]
    assert hits("updated_at:<2026-01-31T23:59:59.999Z") == ["a|1"]
    assert hits("updated_at:<=2026-01-31") == ["a|1", "a|2"]
    assert hits("_exists_:email") == ["a|1", "a|2"] == hits("email:*")
    assert hits("-email:* OR app_metadata.plan:pro") == ["a|1", "a|3"]
    assert hits('user_id:("a|1" OR "a|3")') == ["a|1", "a|3"]
    assert hits("") == ["a|1", "a|2", "a|3"]
    for bad in ("a:1 b:2", "email:", "updated_at:[x TO y]", "(email:a", "email:a~2", "bare"):
        with pytest.raises(QueryError):
            parse_query(bad)


def test_retention():
    tenant = SandboxTenant.generate(users=20, seed=1)
    ids = [e["log_id"] for e in tenant.logs]
    assert not tenant.log_from_is_expired(ids[0])
    tenant.expire_logs_before(ids[5])
    assert tenant.logs[0]["log_id"] == ids[5]
    assert tenant.log_from_is_expired(ids[4]) and not tenant.log_from_is_expired(ids[5])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line_serves_and_prints_the_environment():
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bridged_auth0_pipeline.sandbox.cli import "
         "run_sandbox; sys.exit(run_sandbox(sys.argv[1:]))", "--users", "30", "--port", str(port),
         "--client-secret", "s3cret", "--organizations", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C" in line or not line:
                break
        output = "".join(lines)
        assert f"AUTH0_DOMAIN=http://127.0.0.1:{port}" in output
        assert "AUTH0_CLIENT_ID=sandbox-client" in output
        assert "s3cret" not in output  # the secret is hinted at, not echoed
        assert "30 users" in output and "3 organizations" in output
        health = httpx.get(f"http://127.0.0.1:{port}/__sandbox/health").json()
        assert (health["users"], health["organizations"]) == (30, 3)
        token = httpx.post(f"http://127.0.0.1:{port}/oauth/token", json={
            "grant_type": "client_credentials", "client_id": "sandbox-client",
            "client_secret": "s3cret", "audience": f"http://127.0.0.1:{port}/api/v2/"})
        assert token.status_code == 200
        # The demo's client reads everything it serves: the organizations and the active-users count.
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                           headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert len(api.get("/api/v2/organizations").json()) == 3
        assert api.get("/api/v2/organizations/" + api.get("/api/v2/organizations").json()[0]["id"] + "/members").status_code == 200
        assert isinstance(api.get("/api/v2/stats/active-users").json(), int)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


@pytest.mark.slow
def test_100k_users_generate_with_their_bulk_import():
    """A large tenant is generated whole: every user, the 2,000 of the bulk import on one updated_at.
    How long it takes is a figure of benchmarks/sandbox_generate.py, not a test."""
    big = SandboxTenant.generate(users=100_000, seed=3, shared_timestamp_users=2000)
    assert len(big.users) == 100_000
    assert Counter(user["updated_at"] for user in big.users.values()).most_common(1)[0][1] == 2000
    assert {event["type"] for event in big.logs} >= {"s", "sdu"}
