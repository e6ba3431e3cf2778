"""The Auth0 client against the sandbox over real HTTP: completeness past the cap, tokens, 429s,
retries, the troubleshooting table's errors, and no secret in the logs."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bridged_auth0_pipeline.auth0 import (
    Auth0AudienceError,
    Auth0AuthenticationError,
    Auth0AuthorizationError,
    Auth0BadRequestError,
    Auth0Client,
    Auth0NotFoundError,
    Auth0RateLimitError,
    Auth0ScopeError,
)
from bridged_auth0_pipeline.auth0 import error_mapping
from bridged_auth0_pipeline.auth0.in_flight import interleave
from bridged_auth0_pipeline.auth0.rate_limit import RateLimitPacer
from bridged_auth0_pipeline.auth0.records import line_without_idp_tokens
from bridged_auth0_pipeline.auth0.roles import iter_members_of_roles
from bridged_auth0_pipeline.sandbox import Faults, RateLimit, SandboxTenant
from bridged_auth0_pipeline.sandbox.errors import invalid_query
from bridged_auth0_pipeline.sandbox.management import ManagementApi
from bridged_auth0_pipeline_tests.helpers import SECRET
from bridged_auth0_pipeline.auth0.pagination import offset_pages


@pytest.fixture(scope="module")
def tenant_3000() -> SandboxTenant:
    return SandboxTenant.generate(users=3000, seed=7)


def connect(server, *, page_size=50, max_wait=300.0, secret=SECRET, audience=None) -> Auth0Client:
    return Auth0Client.connect(
        server.base_url, server.client_id, secret, audience=audience, page_size=page_size,
        max_rate_limit_wait_seconds=max_wait,
    )


@pytest.mark.parametrize("page_size", [50, 100])
def test_3000_users_listed_completely_and_once_despite_the_cap(sandbox_factory, tenant_3000, page_size):
    server = sandbox_factory(tenant_3000)
    with connect(server, page_size=page_size) as client:
        user_ids = [user["user_id"] for user in client.users_updated_since(None)]
        requests = client.stats.management_requests
    assert len(user_ids) == len(set(user_ids)) == 3000
    assert set(user_ids) == set(tenant_3000.users)
    minimum = math.ceil(3000 / page_size) + (3000 % page_size == 0)  # the last, short (here empty) page ends it
    print(f"page size {page_size}: {requests} requests, minimum {minimum} ({requests / minimum:.3f}x)")
    assert requests <= minimum * 1.05
    assert all(record.status == 200 for record in server.requests if record.api == "management"), "no 400 from the cap"


def test_1500_users_sharing_one_updated_at_listed_completely(sandbox_factory):
    tenant = SandboxTenant.generate(users=2000, seed=2, shared_timestamp_users=1500)
    server = sandbox_factory(tenant)
    with connect(server, page_size=100) as client:
        user_ids = [user["user_id"] for user in client.users_updated_since(None)]
    assert sorted(user_ids) == sorted(tenant.users)
    assert any(record.path == "/api/v2/jobs/users-exports" for record in server.requests), "the tie needs the export job"


def test_incremental_window_includes_its_lower_bound(sandbox_factory):
    tenant = SandboxTenant.generate(users=300, seed=4)
    server = sandbox_factory(tenant)
    pivot = sorted(user["updated_at"] for user in tenant.users.values())[150]
    with connect(server) as client:
        got = {user["user_id"] for user in client.users_updated_since(pivot)}
    assert got == {user_id for user_id, user in tenant.users.items() if user["updated_at"] >= pivot}


def test_export_job_streams_every_user_without_idp_tokens(sandbox_factory, tenant_3000):
    server = sandbox_factory(tenant_3000)
    with connect(server) as client:
        lines = list(client.export_user_lines(None))
    users = [json.loads(line) for line in lines]
    assert sorted(user["user_id"] for user in users) == sorted(tenant_3000.users)
    # The sandbox puts IdP tokens into the file (the client has read:user_idp_tokens); none pass.
    assert any(identity.get("access_token") for user in tenant_3000.users.values() for identity in user["identities"])
    assert not any(b"access_token" in line or b"refresh_token" in line for line in lines)


def test_logs_checkpoint_paging_and_role_members(sandbox_factory, tenant_3000):
    server = sandbox_factory(tenant_3000)
    with connect(server, page_size=50) as client:
        log_ids = [event["log_id"] for page in client.log_pages(None) for event in page]
        after = sorted(log_ids)[-200]
        tail = [event["log_id"] for page in client.log_pages(after) for event in page]
        members: dict[str, list[str]] = {role["id"]: [] for role in client.roles()}
        for role_id, page in client.members_of_roles(list(members)):
            members[role_id].extend(m["user_id"] for m in page)
    # Lanes interleave their pages: every event exactly once, not in one order.
    assert sorted(log_ids) == sorted(event["log_id"] for event in tenant_3000.logs)
    assert len(log_ids) == len(set(log_ids))
    assert tail == sorted(log_ids)[-199:]
    assert members == {role_id: sorted(users) for role_id, users in tenant_3000.role_members.items()}
    # BRIDGED_PAGE_SIZE is for users: log events and role members come 100 a request (Auth0's maximum).
    checkpoint_takes = {r.query["take"] for r in server.requests if "take" in r.query}
    assert checkpoint_takes == {"100"}


def test_a_log_backlog_is_read_in_parallel_lanes_each_event_once(sandbox_factory):
    """Under network latency one checkpoint walk is ~1/latency requests a second: a backlog is split
    into lanes at the first event of later days, found by log search, and walked at once."""
    # 100 events a page whatever the page size: ~15,000 events make a backlog of three lanes.
    tenant = SandboxTenant.generate(users=3000, seed=11, logs_per_user=5, anchor=datetime.now(timezone.utc))
    latency = 0.1
    server = sandbox_factory(tenant, faults=Faults(latency_seconds=(latency, latency)))
    # Checkpoint requests (`from=`) the sandbox is serving at once: the day searches do not count.
    in_flight, most_in_flight, lock = [0], [0], threading.Lock()
    handle = server.handle

    def handle_counting_checkpoints_in_flight(method, raw_path, headers, body):
        url = urlsplit(raw_path)
        if url.path != "/api/v2/logs" or "from" not in parse_qs(url.query, keep_blank_values=True):
            return handle(method, raw_path, headers, body)
        with lock:
            in_flight[0] += 1
            most_in_flight[0] = max(most_in_flight[0], in_flight[0])
        try:
            return handle(method, raw_path, headers, body)
        finally:
            with lock:
                in_flight[0] -= 1

    server.handle = handle_counting_checkpoints_in_flight
    with connect(server, page_size=50) as client:
        log_ids = [event["log_id"] for page in client.log_pages(None) for event in page]
    assert sorted(log_ids) == sorted(event["log_id"] for event in tenant.logs)
    assert len(log_ids) == len(set(log_ids))

    requests = [r for r in server.requests if r.path == "/api/v2/logs"]
    day_searches = [r for r in requests if r.query.get("q", "").startswith("date:[")]
    assert day_searches
    for search in day_searches:  # each lane starts from the first event of its day
        day = search.query["q"][len("date:["):][:10]
        first_of_day = min(e["log_id"] for e in tenant.logs if e["date"] >= day)
        assert any(r.query.get("from") == first_of_day for r in requests)
    # Each lane costs at most its search and one partly used page; the oldest page (sorted by date)
    # one more: the walk re-reads it from its smallest id (auth0/logs.py).
    assert len(requests) <= len(tenant.logs) // 100 + 2 + 2 * len(day_searches)
    # One walk has one checkpoint request out at a time; lanes have several.
    assert most_in_flight[0] >= 2


def test_a_tenant_whose_log_search_refuses_the_day_query_still_gets_every_event(sandbox_factory, monkeypatch, caplog):
    """Lanes rely on log search taking `date:[YYYY-MM-DD TO *]`; if Auth0 refuses it (400), the
    backlog is read as one walk instead of failing the sync."""
    parse_q = ManagementApi._parse_q

    def refusing_date_ranges(text):
        if text and text.startswith("date:["):
            raise invalid_query("Query validation error: 'date' on property q")
        return parse_q(text)

    monkeypatch.setattr(ManagementApi, "_parse_q", staticmethod(refusing_date_ranges))
    tenant = SandboxTenant.generate(users=3000, seed=11, logs_per_user=5, anchor=datetime.now(timezone.utc))
    server = sandbox_factory(tenant, faults=Faults(latency_seconds=(0.05, 0.05)))
    with caplog.at_level(logging.WARNING), connect(server, page_size=50) as client:
        log_ids = [event["log_id"] for page in client.log_pages(None) for event in page]
    assert log_ids == sorted(event["log_id"] for event in tenant.logs)  # one walk: in order, each once
    refused = [r for r in server.requests if r.path == "/api/v2/logs" and r.status == 400]
    assert refused, "the lanes should have been tried"
    assert "reading the log backlog as one walk" in caplog.text


def test_interleave_raises_a_walks_error_and_stops_the_others():
    started = []

    def walk(n: int):
        started.append(n)
        yield n
        if n == 2:
            raise Auth0BadRequestError("bad page")
        yield from range(100 * n, 100 * n + 1000)

    items = []
    with pytest.raises(Auth0BadRequestError, match="bad page"):
        for item in interleave((walk(n) for n in range(1, 20)), max_in_flight=3):
            items.append(item)
    assert started[:3] == [1, 2, 3] and len(started) < 19  # walks are started lazily, not all at once


def test_token_is_fetched_once_and_renewed_on_expiry(sandbox_factory):
    server = sandbox_factory(SandboxTenant.generate(users=120, seed=3), token_ttl_seconds=3)
    with connect(server) as client:
        list(client.users_updated_since(None))
        list(client.roles())
        assert server.token_requests() == 1, "one token for the whole sync"
        time.sleep(3)  # past expires_in: renewed before use, not after a 401
        list(client.roles())
        assert server.token_requests() == 2
        server.expire_tokens()  # revoked early: the 401 renews once and retries
        list(client.roles())
        assert server.token_requests() == 3
    assert [r.status for r in server.requests if r.api == "management"].count(401) == 1


def test_pacing_from_headers_avoids_429s(sandbox_factory):
    server = sandbox_factory(SandboxTenant.generate(users=400, seed=5), rate_limit=RateLimit(burst=5, per_second=20))
    with connect(server) as client:
        assert len(list(client.users_updated_since(None))) == 400
    statuses = [record.status for record in server.requests if record.api == "management"]
    assert 429 not in statuses


def test_parallel_walks_under_jittery_latency_cause_no_429(sandbox_factory):
    """Role members of several roles at once: answers come back out of order, the pacer must not
    take a stale answer's tokens for real ones."""
    tenant = SandboxTenant.generate(users=3000, seed=5)
    server = sandbox_factory(tenant, rate_limit=RateLimit(burst=5, per_second=40),
                             faults=Faults(latency_seconds=(0.0, 0.06)))
    members: dict[str, list[str]] = {}
    with connect(server) as client:  # 10 members a page (the client takes 100): over 100 requests
        for role_id, page in iter_members_of_roles(client.session, list(tenant.role_members), take=10):
            members.setdefault(role_id, []).extend(m["user_id"] for m in page)
    assert {r: sorted(u) for r, u in members.items()} == {r: sorted(u) for r, u in tenant.role_members.items()}
    statuses = [record.status for record in server.requests if record.api == "management"]
    assert len(statuses) > 100 and 429 not in statuses


def test_an_answer_overtaken_by_a_later_one_does_not_inflate_the_estimate():
    """A is sent before B; the server serves B first (3 left) and then A (2 left); A's answer
    arrives first. Two tokens are left: the third request must wait."""
    now = [1000.0]
    slept = []
    pacer = RateLimitPacer(60, clock=lambda: now[0], sleep=slept.append)

    def answer(remaining: int) -> httpx.Response:
        return httpx.Response(200, headers={"x-ratelimit-limit": "5", "x-ratelimit-remaining": str(remaining),
                                            "x-ratelimit-reset": "1001"})

    pacer.observe("users", answer(4), pacer.before_request("users"))
    a, b = pacer.before_request("users"), pacer.before_request("users")
    pacer.observe("users", answer(2), a)
    pacer.observe("users", answer(3), b)
    pacer.before_request("users")
    pacer.before_request("users")
    assert slept == []
    pacer.before_request("users")  # waits: for an answer in flight, then for the reset
    assert slept and abs(slept[-1] - 1.05) < 1e-6


def test_injected_429s_are_absorbed_within_the_wait_budget(sandbox_factory):
    server = sandbox_factory(SandboxTenant.generate(users=400, seed=5), faults=Faults(extra_429_rate=0.2, seed=1))
    with connect(server, max_wait=60) as client:
        assert len(list(client.users_updated_since(None))) == 400
        waited = client.session.pacer.waited_on_429
        retried = client.stats.retries_429
    assert retried > 0 and 0 < waited < 60


def test_rate_limit_error_once_the_budget_is_spent(sandbox_factory):
    server = sandbox_factory(SandboxTenant.generate(users=50, seed=5), faults=Faults(always_429=True, reset_in_seconds=1))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with connect(server, max_wait=2) as client, pytest.raises(Auth0RateLimitError) as error:
        assert client.session.pacer.max_wait_seconds == 2
        client.session.pacer = RateLimitPacer(2, sleep=sleep)  # the same budget, its waits recorded
        list(client.roles())
    # Every 429 but the last is waited out, within the budget; the last one raises instead of waiting.
    assert slept and sum(slept) <= 2
    assert server.management_request_count() == len(slept) + 1
    assert error.value.waited_seconds == pytest.approx(sum(slept))
    assert "reset_at=" in str(error.value) and "BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS" in str(error.value)
    assert error.value.reset_at.timestamp() > time.time() - 5


def test_5xx_dropped_and_truncated_responses_are_retried(sandbox_factory):
    tenant = SandboxTenant.generate(users=300, seed=6)
    server = sandbox_factory(tenant, faults=Faults(error_5xx_rate=0.1, drop_connection_rate=0.05, truncate_rate=0.05, seed=3))
    with connect(server) as client:
        user_ids = [user["user_id"] for user in client.users_updated_since(None)]
        retries = client.stats.retries_transient
    assert sorted(user_ids) == sorted(tenant.users)
    assert retries > 0


# --- the integration guide's troubleshooting table ------------------------------------------------

def test_401_wrong_client_secret(sandbox_factory):
    server = sandbox_factory()
    with connect(server, secret="wrong-secret") as client, pytest.raises(Auth0AuthenticationError) as error:
        list(client.roles())
    assert "Connection fails (401" in str(error.value)
    assert "verify AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET in Auth0 Dashboard → Applications" in str(error.value)
    assert "wrong-secret" not in str(error.value)


def test_wrong_audience(sandbox_factory):
    server = sandbox_factory()
    with connect(server, audience="https://other.auth0.com/api/v2/") as client, pytest.raises(Auth0AudienceError) as error:
        list(client.roles())
    assert "wrong audience 'https://other.auth0.com/api/v2/'" in str(error.value)
    assert "set AUTH0_AUDIENCE" in str(error.value)


def test_non_global_clients_without_audience(sandbox_factory):
    server = sandbox_factory()
    response = httpx.post(f"{server.base_url}/oauth/token", json={
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": SECRET})
    error = error_mapping.token_error(response, "")
    assert isinstance(error, Auth0AudienceError)
    assert "Non-global clients" in str(error) and "Default Audience" in str(error) and "AUTH0_AUDIENCE" in str(error)


def test_application_not_authorized_for_the_management_api(sandbox_factory):
    server = sandbox_factory()
    server.grant_enabled = False
    with connect(server) as client, pytest.raises(Auth0AuthorizationError) as error:
        list(client.roles())
    assert "not authorized for the Management API" in str(error.value)
    assert "read:users, read:logs, read:roles" in str(error.value) and "read:user_idp_tokens" not in str(error.value)


@pytest.mark.parametrize(("scopes", "missing"), [(("read:logs", "read:roles"), "read:users"), (("read:users", "read:roles"), "read:logs")])
def test_403_insufficient_scope_names_the_scope(sandbox_factory, scopes, missing):
    server = sandbox_factory(scopes=scopes)
    with connect(server) as client, pytest.raises(Auth0ScopeError) as error:
        if missing == "read:users":
            list(client.users_updated_since(None))
        else:
            list(client.log_pages(None))
    assert error.value.scope == missing
    assert "No data returned (403 insufficient scope on GET /api/v2/" in str(error.value)
    assert f"grant {missing} to the application" in str(error.value)


def test_404_user_not_found_shows_the_id_format(sandbox_factory):
    server = sandbox_factory()
    with connect(server) as client, pytest.raises(Auth0NotFoundError) as error:
        client.get_user("auth0|000000000000000000000000")
    assert "Not found (404" in str(error.value) and "provider|id" in str(error.value)


def test_400_bad_request(sandbox_factory):
    server = sandbox_factory()
    with connect(server) as client, pytest.raises(Auth0BadRequestError) as error:
        list(offset_pages(client.session, "users", {"q": "updated_at:[bad", "search_engine": "v3"}, 50, "users"))
    assert "Bad request (400 on GET /api/v2/users" in str(error.value)


def test_no_secret_or_token_in_logs(sandbox_factory, caplog):
    server = sandbox_factory(SandboxTenant.generate(users=200, seed=8), token_ttl_seconds=2,
                             faults=Faults(extra_429_rate=0.1, error_5xx_rate=0.05, seed=2))
    caplog.set_level(logging.DEBUG)
    with connect(server) as client:
        list(client.users_updated_since(None))
        server.expire_tokens()
        list(client.export_user_lines(None))
        for page in client.log_pages(None):
            pass
    with connect(server, secret="a-wrong-secret-MARKER") as client, pytest.raises(Auth0AuthenticationError) as error:
        list(client.roles())
    tokens = server.issued_tokens()
    assert len(tokens) >= 2
    text = caplog.text + str(error.value) + repr(client.session.__dict__)
    for secret in [SECRET, "a-wrong-secret-MARKER", *tokens]:
        assert secret not in text
    assert "Auth0 answered 429" in caplog.text or "Transient failure" in caplog.text, "the logs were captured"


def test_export_lines_lose_idp_tokens_however_they_are_written():
    plain = b'{"user_id":"auth0|1","identities":[{"provider":"auth0","user_id":"1"}]}'
    assert line_without_idp_tokens(plain) is plain, "lines without a token are not re-encoded"
    with_tokens = json.dumps({"user_id": "github|1", "user_metadata": {"token": "customer data"}, "identities": [
        {"provider": "github", "user_id": 1, "access_token": "SECRET-A", "refresh_token": "SECRET-R"}]}).encode()
    stripped = json.loads(line_without_idp_tokens(with_tokens))
    assert stripped["identities"] == [{"provider": "github", "user_id": 1}]
    assert stripped["user_metadata"] == {"token": "customer data"}
    escaped = b'{"user_id":"x","identities":[{"provider":"p","access\\u005ftoken":"SECRET-E"}]}'
    assert b"SECRET" not in line_without_idp_tokens(escaped)
    broken = b'{"user_id":"x","identities":[{"access_token":"SECRET-B"'
    assert b"SECRET" not in line_without_idp_tokens(broken)
    with pytest.raises(ValueError):
        json.loads(line_without_idp_tokens(broken))  # still rejected as invalid JSON downstream
