"""The sandbox's Authentication and Management API behaviour, over real HTTP."""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from datetime import datetime, timedelta

import httpx
import pytest

from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES

from bridged_auth0_pipeline_tests.sandbox_fixtures import (CLIENT_ID, CLIENT_SECRET, api,  # noqa: F401
                                   component_validator, fetch_token, management_client,
                                   response_validator, sandbox_server, sandbox_tenant)
CAP_BODY = {"statusCode": 400, "error": "Bad Request",
            "message": "You can only page through the first 1000 records. See "
                       "https://auth0.com/docs/users/search/v3/view-search-results-by-page"
                       "#limitation",
            "errorCode": "invalid_paging"}


def ids(users):
    return [u["user_id"] for u in users]


def wait_for_job(client, job_id, timeout=5.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        body = client.get(f"/api/v2/jobs/{job_id}").json()
        seen.append(body["status"])
        if body["status"] == "completed":
            return body, seen
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} did not complete: {seen}")


# -- token endpoint -------------------------------------------------------------------------------
def test_token_exchange_json_and_form(sandbox_server):
    response = fetch_token(sandbox_server)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert body["scope"] == "read:users read:user_idp_tokens read:logs read:roles"
    assert len(body["access_token"]) > 20
    form = httpx.post(f"{sandbox_server.base_url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "audience": sandbox_server.audience})
    assert form.status_code == 200
    assert form.json()["access_token"] != body["access_token"]
    narrowed = fetch_token(sandbox_server, scope="read:users")
    assert narrowed.json()["scope"] == "read:users"


@pytest.mark.parametrize("overrides, status, body", [
    ({"client_secret": "wrong"}, 401, {"error": "access_denied", "error_description": "Unauthorized"}),
    ({"client_id": "nobody"}, 401, {"error": "access_denied", "error_description": "Unauthorized"}),
    ({"audience": "https://elsewhere.example/api/v2/"}, 403,
     {"error": "access_denied",
      "error_description": "Service not enabled within domain: https://elsewhere.example/api/v2/"}),
    ({"audience": None}, 403,
     {"error": "access_denied",
      "error_description": "Non-global clients are not allowed access to APIv1"}),
    ({"grant_type": "password"}, 400,
     {"error": "unsupported_grant_type", "error_description": "Unsupported grant type: password"}),
    ({"scope": "read:users delete:users"}, 403,
     {"error": "access_denied",
      "error_description": "Client has not been granted scopes: delete:users"}),
])
def test_token_errors(sandbox_server, overrides, status, body):
    response = fetch_token(sandbox_server, **overrides)
    assert response.status_code == status
    assert response.json() == body


def test_token_default_audience_and_missing_client_grant():
    with SandboxServer(SandboxTenant(), client_secret="other") as server:
        assert (server.client_id, server.client_secret) == ("sandbox-client", "other")
        assert fetch_token(server).status_code == 401
        assert fetch_token(server, client_secret="other").status_code == 200
        server.default_audience = server.audience
        assert fetch_token(server, audience=None, client_secret="other").status_code == 200
        server.grant_enabled = False
        response = fetch_token(server, client_secret="other")
        assert response.status_code == 403
        assert response.json() == {
            "error": "access_denied",
            "error_description": f'Client is not authorized to access "{server.audience}". You '
                                 'need to create a "client-grant" associated to this API. See: '
                                 'https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants'}


# -- Management API errors ------------------------------------------------------------------------
def test_invalid_missing_and_expired_tokens(sandbox_server):
    base = sandbox_server.base_url
    missing = httpx.get(f"{base}/api/v2/users")
    assert missing.status_code == 401
    bogus = httpx.get(f"{base}/api/v2/users", headers={"Authorization": "Bearer nope"})
    assert bogus.status_code == 401
    assert bogus.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}
    assert "x-ratelimit-remaining" in bogus.headers
    with SandboxServer(SandboxTenant(), token_ttl_seconds=0) as short:
        with management_client(short) as client:
            expired = client.get("/api/v2/users")
    assert expired.status_code == 401
    assert expired.json() == {"statusCode": 401, "error": "Unauthorized",
                              "message": "Expired token received for JSON Web Token validation"}


def test_expire_tokens_helper():
    with SandboxServer(SandboxTenant()) as server, management_client(server) as client:
        assert client.get("/api/v2/users").status_code == 200
        server.expire_tokens()
        assert client.get("/api/v2/users").json()["message"].startswith("Expired token")


def test_insufficient_scope_bodies():
    with SandboxServer(SandboxTenant(), scopes=("read:logs",)) as server, \
            management_client(server) as client:
        users = client.get("/api/v2/users")
        assert users.status_code == 403
        assert users.json() == {"statusCode": 403, "error": "Forbidden",
                                "message": "Insufficient scope, expected any of: read:users",
                                "errorCode": "insufficient_scope"}
        roles = client.get("/api/v2/roles")
        assert roles.json()["message"] == "Insufficient scope, expected any of: read:roles"
        user_roles = client.get("/api/v2/users/auth0|abc/roles")
        assert user_roles.json()["message"] == \
            "Insufficient scope, expected all of: read:users, read:roles"
        assert client.get("/api/v2/logs", params={"from": "0"}).status_code == 200


def test_active_users_counts_the_last_30_days_logins():
    """GET /api/v2/stats/active-users: a bare number, read:stats only; `sync --all` orders first syncs by it."""
    tenant = SandboxTenant.demo(users=300)
    since = tenant.now() - timedelta(days=30)
    expected = sum(1 for user in tenant.users.values()
                   if user.get("last_login") and datetime.fromisoformat(user["last_login"].replace("Z", "+00:00")) >= since)
    assert 0 < expected < 300  # some users logged in lately, not all
    with SandboxServer(tenant, scopes=DEFAULT_SCOPES + ("read:stats",)) as server, management_client(server) as client:
        answer = client.get("/api/v2/stats/active-users")
        assert answer.status_code == 200 and answer.json() == expected
        assert not list(response_validator("/stats/active-users").iter_errors(answer.json()))
        assert "x-ratelimit-remaining" in answer.headers
    with SandboxServer(tenant) as server, management_client(server) as client:
        refused = client.get("/api/v2/stats/active-users")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Insufficient scope, expected any of: read:stats"


def test_user_not_found_and_bad_id(api):
    missing = api.get("/api/v2/users/auth0|000000000000000000000000")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "error": "Not Found",
                              "message": "The user does not exist.",
                              "errorCode": "inexistent_user"}
    bad = api.get("/api/v2/users/12345")
    assert bad.status_code == 400
    assert "provider|id" in bad.json()["message"]


# -- users: paging, cap, sort, search -------------------------------------------------------------
def test_paging_is_consistent_and_totals_are_capped(api, sandbox_tenant):
    first = api.get("/api/v2/users", params={"per_page": 100, "page": 0, "sort": "created_at:1",
                                             "include_totals": "true"})
    body = first.json()
    assert set(body) == {"start", "limit", "length", "total", "users"}
    assert (body["start"], body["limit"], body["length"], body["total"]) == (0, 100, 100, 1000)
    second = api.get("/api/v2/users", params={"per_page": 100, "page": 1, "sort": "created_at:1"})
    assert isinstance(second.json(), list)
    expected = sorted(sandbox_tenant.users.values(), key=lambda u: (u["created_at"], u["user_id"]))
    assert ids(body["users"]) + ids(second.json()) == ids(expected[:200])


@pytest.mark.parametrize("page, per_page, ok", [
    (9, 100, True), (10, 100, False), (19, 50, True), (20, 50, False), (32, 30, True),
    (33, 30, False), (999, 1, True), (1000, 1, False)])
def test_the_1000_result_cap(api, page, per_page, ok):
    response = api.get("/api/v2/users", params={"page": page, "per_page": per_page})
    if ok:
        assert response.status_code == 200
        assert len(response.json()) == per_page
    else:
        assert response.status_code == 400
        assert response.json() == CAP_BODY


def test_per_page_over_100_is_rejected(api):
    response = api.get("/api/v2/users", params={"per_page": 101})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_query_string"
    assert "per_page" in response.json()["message"]


def test_sort_ties_break_by_user_id(api, sandbox_tenant):
    stamp = next(u["updated_at"] for u in sandbox_tenant.users.values()
                 if (u.get("app_metadata") or {}).get("source") == "bulk-import")
    bulk = sorted(uid for uid, u in sandbox_tenant.users.items() if u["updated_at"] == stamp)
    assert len(bulk) == 40
    q = f'updated_at:"{stamp}"'
    asc = api.get("/api/v2/users", params={"q": q, "sort": "updated_at:1", "per_page": 100})
    desc = api.get("/api/v2/users", params={"q": q, "sort": "updated_at:-1", "per_page": 100})
    assert ids(asc.json()) == bulk
    assert ids(desc.json()) == bulk[::-1]


def _count(tenant, predicate):
    return sum(1 for u in tenant.users.values() if predicate(u))


def test_range_bounds_inclusive_exclusive_and_open(api, sandbox_tenant):
    stamp = next(u["updated_at"] for u in sandbox_tenant.users.values()
                 if (u.get("app_metadata") or {}).get("source") == "bulk-import")

    def total(q):
        response = api.get("/api/v2/users", params={"q": q, "search_engine": "v3",
                                                    "per_page": 0, "include_totals": "true"})
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert total(f"updated_at:[{stamp} TO {stamp}]") == 40
    assert total(f"updated_at:{{{stamp} TO {stamp}]") == 0
    assert total(f"updated_at:[{stamp} TO {stamp}}}") == 0
    lo, hi = "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"
    assert total(f"updated_at:[{lo} TO {hi}}}") == _count(
        sandbox_tenant, lambda u: lo <= u["updated_at"] < hi)
    assert total(f"updated_at:{{{lo} TO {hi}]") == _count(
        sandbox_tenant, lambda u: lo < u["updated_at"] <= hi)
    # Date-only bounds: an inclusive upper bound covers the whole day.
    assert total("updated_at:[2026-01-01 TO 2026-01-31]") == _count(
        sandbox_tenant, lambda u: lo <= u["updated_at"] < hi)
    recent = "2026-09-15T00:00:00.000Z"
    assert total(f"last_login:[{recent} TO *]") == _count(
        sandbox_tenant, lambda u: u.get("last_login", "") >= recent)
    assert total(f"created_at:[* TO {recent}}} AND NOT blocked:true") == min(1000, _count(
        sandbox_tenant, lambda u: u["created_at"] < recent and not u.get("blocked")))


def test_query_fields_and_operators(api, sandbox_tenant):
    some = [u for u in sandbox_tenant.users.values() if "email" in u][:2]
    by_email = api.get("/api/v2/users", params={"q": f'email:"{some[0]["email"].upper()}"'})
    assert some[0]["user_id"] in ids(by_email.json())
    pair = api.get("/api/v2/users", params={
        "q": f'user_id:("{some[0]["user_id"]}" OR "{some[1]["user_id"]}")'})
    assert sorted(ids(pair.json())) == sorted(ids(some))
    github = api.get("/api/v2/users", params={"q": 'identities.connection:"github"',
                                              "include_totals": "true", "per_page": 0})
    assert github.json()["total"] == _count(sandbox_tenant, lambda u: any(
        i["connection"] == "github" for i in u["identities"]))
    pro = api.get("/api/v2/users", params={
        "q": "(app_metadata.plan:pro OR app_metadata.plan:enterprise) AND email_verified:true",
        "include_totals": "true", "per_page": 0})
    assert pro.json()["total"] == min(1000, _count(sandbox_tenant, lambda u: (
        (u.get("app_metadata") or {}).get("plan") in ("pro", "enterprise")
        and u.get("email_verified") is True)))
    blocked = api.get("/api/v2/users", params={"q": "blocked:true", "per_page": 100})
    assert sorted(ids(blocked.json())) == sorted(
        uid for uid, u in sandbox_tenant.users.items() if u.get("blocked"))


@pytest.mark.parametrize("q", ["email:a email:b", "name:jo~", "updated_at:[2026-01-01 2026-02-01]",
                               "(email:a", "justaword", "updated_at:[nonsense TO *]"])
def test_unsupported_query_syntax_is_a_400(api, q):
    response = api.get("/api/v2/users", params={"q": q})
    assert response.status_code == 400
    body = response.json()
    assert (body["statusCode"], body["error"], body["errorCode"]) == (
        400, "Bad Request", "invalid_query_string")


def test_old_search_engines_are_refused(api):
    response = api.get("/api/v2/users", params={"q": "blocked:true", "search_engine": "v2"})
    assert response.status_code == 400
    assert "search_engine=v3" in response.json()["message"]


def test_fields_and_include_fields(api):
    only = api.get("/api/v2/users", params={"fields": "user_id,email", "per_page": 5}).json()
    assert all(set(u) <= {"user_id", "email"} and "user_id" in u for u in only)
    without = api.get("/api/v2/users", params={"fields": "identities,app_metadata",
                                               "include_fields": "false", "per_page": 5}).json()
    assert all("identities" not in u and "app_metadata" not in u and "user_id" in u
               for u in without)
    one = api.get(f"/api/v2/users/{only[0]['user_id']}", params={"fields": "email"}).json()
    assert set(one) <= {"email"}


def test_identity_tokens_need_read_user_idp_tokens(sandbox_server, sandbox_tenant):
    holder = next(u for u in sandbox_tenant.users.values()
                  if any("access_token" in i for i in u["identities"]))
    path = f"/api/v2/users/{holder['user_id']}"
    with management_client(sandbox_server) as full:
        assert any("access_token" in i for i in full.get(path).json()["identities"])
    limited_token = fetch_token(sandbox_server, scope="read:users").json()["access_token"]
    with management_client(sandbox_server, limited_token) as limited:
        for user in [limited.get(path).json()] + limited.get(
                "/api/v2/users", params={"per_page": 100}).json():
            for identity in user["identities"]:
                assert "access_token" not in identity and "refresh_token" not in identity


def test_users_by_email_is_case_sensitive_while_search_ignores_case(api, sandbox_tenant):
    # Auth0: /users-by-email takes the "Email address to search for (case-sensitive)"; search v3's
    # email: term matches any case (but is eventually consistent)
    by_email: dict[str, list[str]] = {}
    for uid, user in sandbox_tenant.users.items():
        if "email" in user:
            by_email.setdefault(user["email"].casefold(), []).append(uid)
    shared, owners = next((e, owners) for e, owners in by_email.items()
                          if len({sandbox_tenant.users[uid]["email"] for uid in owners}) > 1)
    spellings = {sandbox_tenant.users[uid]["email"] for uid in owners}
    for spelled in spellings:
        response = api.get("/api/v2/users-by-email", params={"email": spelled})
        assert response.status_code == 200
        assert sorted(ids(response.json())) == sorted(
            uid for uid in owners if sandbox_tenant.users[uid]["email"] == spelled)
    nobody_spells_it = next(e for e in (shared.upper(), shared.title(), shared.capitalize()) if e not in spellings)
    assert api.get("/api/v2/users-by-email", params={"email": nobody_spells_it}).json() == []
    search = api.get("/api/v2/users", params={"q": f'email:"{nobody_spells_it}"', "search_engine": "v3"})
    assert sorted(ids(search.json())) == sorted(owners)
    assert api.get("/api/v2/users-by-email").status_code == 400


def test_github_identity_user_id_is_an_integer(api, sandbox_tenant):
    uid = next(u for u in sandbox_tenant.users if u.startswith("github|"))
    identity = api.get(f"/api/v2/users/{uid}").json()["identities"][0]
    assert isinstance(identity["user_id"], int)
    assert uid == f"github|{identity['user_id']}"


def test_user_logs_and_roles(api, sandbox_tenant):
    counts = Counter(e.get("user_id") for e in sandbox_tenant.logs)
    uid = max(sandbox_tenant.users, key=lambda u: counts[u])
    expected = [e["log_id"] for e in sandbox_tenant.logs if e.get("user_id") == uid]
    body = api.get(f"/api/v2/users/{uid}/logs", params={"include_totals": "true",
                                                        "per_page": 100}).json()
    assert set(body) == {"start", "limit", "length", "total", "logs"}
    assert [e["log_id"] for e in body["logs"]] == expected[::-1]  # newest first by default
    ascending = api.get(f"/api/v2/users/{uid}/logs", params={"sort": "date:1"}).json()
    assert [e["log_id"] for e in ascending] == expected
    assert api.get(f"/api/v2/users/{uid}/logs", params={"page": 10, "per_page": 100}).json() \
        == CAP_BODY

    member = next(m for members in sandbox_tenant.role_members.values() for m in members)
    roles = api.get(f"/api/v2/users/{member}/roles", params={"include_totals": "true"}).json()
    assert set(roles) == {"start", "limit", "total", "roles"}
    expected_roles = {rid for rid, members in sandbox_tenant.role_members.items()
                      if member in members}
    assert {r["id"] for r in roles["roles"]} == expected_roles
    assert api.get("/api/v2/users/auth0|nobody/roles").status_code == 404


# -- logs -----------------------------------------------------------------------------------------
def test_checkpoint_walk_returns_every_event_once(api, sandbox_tenant):
    seen = []
    current = "0"
    url = f"/api/v2/logs?from={current}&take=100"
    for _ in range(10_000):
        response = api.get(url)
        assert response.status_code == 200
        page = response.json()
        link = response.headers["link"]
        assert link.endswith('>; rel="next"')
        next_url = link[1:link.index(">")]
        if not page:
            assert f"from={current}&take=100" in next_url  # an empty page repeats `from`
            break
        seen.extend(e["log_id"] for e in page)
        current = page[-1]["log_id"]
        assert f"from={current}&take=100" in next_url
        url = next_url[len(str(api.base_url).rstrip("/")):]
    assert seen == [e["log_id"] for e in sandbox_tenant.logs]
    assert len(set(len(i) for i in seen)) == 1  # fixed width


def test_checkpoint_parameters_and_retention():
    tenant = SandboxTenant.generate(users=50, seed=3)
    with SandboxServer(tenant) as server, management_client(server) as client:
        assert client.get("/api/v2/logs", params={"from": "0", "take": 101}).status_code == 400
        log_ids = [e["log_id"] for e in tenant.logs]
        cut = log_ids[10]
        assert tenant.expire_logs_before(cut) == 10
        stale = client.get("/api/v2/logs", params={"from": log_ids[3], "take": 5})
        assert stale.status_code == 400
        assert stale.json() == {
            "statusCode": 400, "error": "Bad Request",
            "message": "The 'from' log_id is older than the log retention period of this tenant.",
            "errorCode": "invalid_query_string"}
        fresh = client.get("/api/v2/logs", params={"from": cut, "take": 5})
        assert [e["log_id"] for e in fresh.json()] == log_ids[11:16]


def test_log_search_mode(api, sandbox_tenant):
    oldest = api.get("/api/v2/logs", params={"sort": "date:1", "per_page": 1}).json()
    assert oldest[0]["log_id"] == sandbox_tenant.logs[0]["log_id"]
    newest = api.get("/api/v2/logs", params={"per_page": 3}).json()
    assert [e["log_id"] for e in newest] == [e["log_id"] for e in sandbox_tenant.logs[-3:]][::-1]
    failures = api.get("/api/v2/logs", params={"q": "type:fp", "per_page": 100, "page": 0,
                                               "include_totals": "true"}).json()
    assert failures["total"] == min(1000, sum(1 for e in sandbox_tenant.logs if e["type"] == "fp"))
    assert all(e["type"] == "fp" for e in failures["logs"])
    same = api.get("/api/v2/logs", params={"search": "type:fp", "per_page": 100}).json()
    assert [e["log_id"] for e in same] == [e["log_id"] for e in failures["logs"]]
    assert api.get("/api/v2/logs", params={"page": 10, "per_page": 100}).json() == CAP_BODY


def test_log_date_range_search_matches_a_scan_also_after_an_out_of_order_date():
    """`date:[day TO *]` is answered by bisection while dates are in log order, by a scan after
    an event is added with an older date: the answers must be the same as a scan's."""
    tenant = SandboxTenant.generate(users=300, seed=4)
    with SandboxServer(tenant) as server, management_client(server) as client:
        def first_events(q: str, sort: str) -> list[str]:
            body = client.get("/api/v2/logs", params={"q": q, "sort": sort, "per_page": 5}).json()
            return [event["log_id"] for event in body]

        def scan(lo: str, hi: str | None = None) -> list[dict]:
            return [e for e in tenant.logs if e["date"] >= lo and (hi is None or e["date"] < hi)]

        day = tenant.logs[len(tenant.logs) // 2]["date"][:10]
        assert first_events(f"date:[{day} TO *]", "date:1") == [e["log_id"] for e in scan(day)[:5]]
        assert first_events(f"date:[* TO {day}}}", "date:-1") == [e["log_id"] for e in scan("", day)[-5:]][::-1]
        # A delayed event: dated with the oldest, written last (so its log_id is the highest).
        old = tenant.add_log("s", date=tenant.logs[0]["date"])
        by_date = [e["log_id"] for e in sorted(scan("", day), key=lambda e: (e["date"], e["log_id"]))]
        assert first_events(f"date:[* TO {day}}}", "date:1") == by_date[:5]
        assert old["log_id"] in by_date[:5] and old["log_id"] == max(e["log_id"] for e in tenant.logs)
        assert first_events(f"date:[* TO {day}}}", "date:-1") == by_date[-5:][::-1]
        assert old["log_id"] not in first_events(f"date:[{day} TO *]", "date:-1")


# -- roles ----------------------------------------------------------------------------------------
def test_roles_listing(api, sandbox_tenant):
    roles = api.get("/api/v2/roles").json()
    assert {r["name"] for r in roles} == {"admin", "editor", "viewer", "billing", "support"}
    assert all(set(r) == {"id", "name", "description"} and r["id"].startswith("rol_")
               and len(r["id"]) == 20 for r in roles)
    filtered = api.get("/api/v2/roles", params={"name_filter": "VIEW", "include_totals": "true"})
    assert filtered.json()["total"] == 1 and filtered.json()["roles"][0]["name"] == "viewer"
    assert "length" not in filtered.json()
    unknown = api.get("/api/v2/roles/rol_0000000000000000/users")
    assert unknown.status_code == 404


def test_role_members_checkpoint_and_page_cap():
    tenant = SandboxTenant.generate(users=1500, seed=11, logs_per_user=0)
    everyone = tenant.add_role("everyone", "all users")
    tenant.assign_role(everyone["id"], list(tenant.users))
    with SandboxServer(tenant) as server, management_client(server) as client:
        path = f"/api/v2/roles/{everyone['id']}/users"
        collected, params = [], {"take": 100}
        while True:
            body = client.get(path, params=params).json()
            collected.extend(body["users"])
            if "next" not in body:
                break
            params = {"take": 100, "from": body["next"]}
        assert [u["user_id"] for u in collected] == sorted(tenant.users)
        assert all(set(u) <= {"user_id", "email", "name", "picture"} for u in collected)
        assert client.get(path, params={"page": 10, "per_page": 100}).json() == CAP_BODY
        paged = client.get(path, params={"page": 9, "per_page": 100, "include_totals": "true"})
        assert set(paged.json()) == {"start", "limit", "total", "users"}
        assert paged.json()["total"] == 1500


# -- export jobs ----------------------------------------------------------------------------------
def test_export_job_lifecycle_and_content(api, sandbox_tenant, sandbox_server):
    created = api.post("/api/v2/jobs/users-exports", json={
        "format": "json", "fields": [{"name": "user_id"}, {"name": "email"},
                                     {"name": "app_metadata", "export_as": "app"}]})
    assert created.status_code == 201
    job = created.json()
    assert job["id"].startswith("job_") and len(job["id"]) == 20
    assert (job["type"], job["status"], job["format"]) == ("users_export", "pending", "json")
    done, seen = wait_for_job(api, job["id"])
    assert seen[0] in ("pending", "processing") and "completed" in seen
    assert done["percentage_done"] == 100
    location = done["location"]
    assert location.startswith(f"{sandbox_server.base_url}/__sandbox/exports/{job['id']}.json.gz?")
    before = sandbox_server.management_request_count()
    download = httpx.get(location)  # no bearer token: the URL is signed
    assert sandbox_server.management_request_count() == before
    assert download.status_code == 200
    rows = [json.loads(line) for line in gzip.decompress(download.content).splitlines()]
    assert len(rows) == len(sandbox_tenant.users)
    by_id = {r["user_id"]: r for r in rows}
    assert set(by_id) == set(sandbox_tenant.users)
    for uid, user in list(sandbox_tenant.users.items())[:200]:
        row = by_id[uid]
        assert set(row) <= {"user_id", "email", "app"}
        assert row.get("email") == user.get("email")
        assert row.get("app") == user.get("app_metadata")
    tampered = location.replace("sig=", "sig=00")
    assert httpx.get(tampered).status_code == 403


def test_export_defaults_csv_expiry_and_snapshot_time():
    tenant = SandboxTenant()
    tenant.add_user({"email": "early@example.com", "name": "Early"})
    with SandboxServer(tenant, export_seconds=0.25) as server, management_client(server) as client:
        job = client.post("/api/v2/jobs/users-exports", json={"format": "json"}).json()
        tenant.add_user({"email": "during@example.com"})  # before completion: in the file
        done, _ = wait_for_job(client, job["id"])
        tenant.add_user({"email": "late@example.com"})  # after completion: not in the file
        rows = [json.loads(x) for x in gzip.decompress(httpx.get(done["location"]).content)
                .splitlines()]
        assert sorted(r["email"] for r in rows) == ["during@example.com", "early@example.com"]
        assert {"user_id", "email", "created_at", "updated_at"} <= set(rows[0])

        csv_job = client.post("/api/v2/jobs/users-exports", json={
            "format": "csv", "fields": [{"name": "email"}, {"name": "name", "export_as": "Full"}]})
        done, _ = wait_for_job(client, csv_job.json()["id"])
        text = gzip.decompress(httpx.get(done["location"]).content).decode()
        lines = text.splitlines()
        assert lines[0] == "user_id,email,Full"
        assert len(lines) == 4

        server.export_url_ttl_seconds = -1
        expired = client.get(f"/api/v2/jobs/{job['id']}").json()["location"]
        assert httpx.get(expired).status_code == 403

        bad = client.post("/api/v2/jobs/users-exports", json={"format": "xml"})
        assert bad.status_code == 400
        unknown = client.post("/api/v2/jobs/users-exports",
                              json={"connection_id": "con_0000000000000000"})
        assert unknown.status_code == 400
        assert unknown.json()["message"] == "The connection does not exist."
        assert client.get("/api/v2/jobs/job_0000000000000000").status_code == 404


def test_export_by_connection():
    tenant = SandboxTenant.generate(users=200, seed=5, logs_per_user=0)
    connection = tenant.connections["github"]
    with SandboxServer(tenant, export_seconds=0) as server, management_client(server) as client:
        job = client.post("/api/v2/jobs/users-exports", json={
            "connection_id": connection["id"], "format": "json", "limit": 1000}).json()
        assert job["connection"] == "github" and job["connection_id"] == connection["id"]
        done = client.get(f"/api/v2/jobs/{job['id']}").json()
        rows = gzip.decompress(httpx.get(done["location"]).content).splitlines()
        assert len(rows) == sum(1 for u in tenant.users if u.startswith("github|"))


# -- responses match Auth0's published schemas ----------------------------------------------------
def test_responses_validate_against_the_management_oas(api, sandbox_tenant):
    uid = next(u for u in sandbox_tenant.users if u.startswith("github|"))
    linked = next(u for u, p in sandbox_tenant.users.items() if len(p["identities"]) > 1)
    email = sandbox_tenant.users[linked]["email"]
    role_id = max(sandbox_tenant.role_members, key=lambda r: len(sandbox_tenant.role_members[r]))
    checks = [
        ("/users", api.get("/api/v2/users", params={"per_page": 100})),
        ("/users", api.get("/api/v2/users", params={"per_page": 100, "include_totals": "true",
                                                    "q": "identities.connection:github"})),
        ("/users-by-email", api.get("/api/v2/users-by-email", params={"email": email})),
        ("/users/{id}", api.get(f"/api/v2/users/{uid}")),
        ("/users/{id}", api.get(f"/api/v2/users/{linked}")),
        ("/users/{id}/logs", api.get(f"/api/v2/users/{uid}/logs")),
        ("/users/{id}/logs", api.get(f"/api/v2/users/{uid}/logs",
                                     params={"include_totals": "true"})),
        ("/users/{id}/roles", api.get(f"/api/v2/users/{uid}/roles")),
        ("/users/{id}/roles", api.get(f"/api/v2/users/{uid}/roles",
                                      params={"include_totals": "true"})),
        ("/logs", api.get("/api/v2/logs", params={"from": "0", "take": 100})),
        ("/logs", api.get("/api/v2/logs", params={"per_page": 100, "include_totals": "true"})),
        ("/roles", api.get("/api/v2/roles")),
        ("/roles", api.get("/api/v2/roles", params={"include_totals": "true"})),
        ("/roles/{id}/users", api.get(f"/api/v2/roles/{role_id}/users")),
        ("/roles/{id}/users", api.get(f"/api/v2/roles/{role_id}/users",
                                      params={"include_totals": "true"})),
        ("/roles/{id}/users", api.get(f"/api/v2/roles/{role_id}/users", params={"take": 50})),
    ]
    # The last checkpoint page has no `next`, so {"users": [...]} matches two branches of the
    # OAS's oneOf (an ambiguity of the published schema): check it against its own branch.
    last = api.get(f"/api/v2/roles/{role_id}/users",
                   params={"take": 100, "from": _cursor_before_last_page(api, role_id)}).json()
    assert "next" not in last
    assert not list(component_validator("ListRoleUsersPaginatedResponseContent")
                    .iter_errors(last))
    for path, response in checks:
        assert response.status_code == 200, (path, response.text)
        errors = list(response_validator(path).iter_errors(response.json()))
        assert not errors, (path, [e.message for e in errors[:3]])
    # every user and every log event of the tenant, not just one page
    user_schema = response_validator("/users-by-email")
    assert not list(user_schema.iter_errors(list(sandbox_tenant.users.values())))
    logs_schema = response_validator("/logs")
    assert not list(logs_schema.iter_errors(sandbox_tenant.logs))

    connection = sandbox_tenant.connections["Username-Password-Authentication"]["id"]
    created = api.post("/api/v2/jobs/users-exports", json={"connection_id": connection,
                                                           "format": "json"})
    assert not list(response_validator("/jobs/users-exports", "post").iter_errors(created.json()))
    done, _ = wait_for_job(api, created.json()["id"])
    assert not list(response_validator("/jobs/{id}").iter_errors(done))


def _cursor_before_last_page(api, role_id):
    params, cursor = {"take": 100}, None
    while True:
        body = api.get(f"/api/v2/roles/{role_id}/users", params=params).json()
        if "next" not in body:
            return cursor
        cursor = body["next"]
        params = {"take": 100, "from": cursor}
