"""Rate limits and injected faults: what a client's retry logic will meet."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from bridged_auth0_pipeline.sandbox import Faults, RateLimit, SandboxServer, SandboxTenant

from bridged_auth0_pipeline_tests.sandbox_fixtures import fetch_token, management_client
TOO_MANY = {"statusCode": 429, "error": "Too Many Requests",
            "message": "Global limit has been reached", "errorCode": "too_many_requests"}


@pytest.fixture
def small_tenant():
    tenant = SandboxTenant()
    for n in range(5):
        tenant.add_user({"email": f"user{n}@example.com"})
    return tenant


def test_rate_limit_headers_and_429_when_the_bucket_is_empty(small_tenant):
    limits = {"users": RateLimit(burst=3, per_second=0.5)}
    with SandboxServer(small_tenant, rate_limit=limits) as server, \
            management_client(server) as client:
        logs_before = len(small_tenant.logs)
        seen = [client.get("/api/v2/users") for _ in range(4)]
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["x-ratelimit-remaining"] for r in seen] == ["2", "1", "0", "0"]
        assert all(r.headers["x-ratelimit-limit"] == "3" for r in seen)
        reset = int(seen[-1].headers["x-ratelimit-reset"])
        assert time.time() < reset <= math.ceil(time.time() + 2)
        assert seen[-1].json() == TOO_MANY
        assert "retry-after" not in seen[-1].headers
        # other groups have their own buckets
        assert client.get("/api/v2/logs", params={"from": "0"}).status_code == 200
        limit_events = [e for e in small_tenant.logs[logs_before:] if e["type"] == "api_limit"]
        assert len(limit_events) == 1 and "user_id" not in limit_events[0]
        server.faults = Faults(retry_after=True)
        again = client.get("/api/v2/users")
        assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1


def test_bucket_refills(small_tenant):
    with SandboxServer(small_tenant, rate_limit=RateLimit(burst=1, per_second=20)) as server, \
            management_client(server) as client:
        assert client.get("/api/v2/users").status_code == 200
        assert client.get("/api/v2/users").status_code == 429
        time.sleep(0.1)
        assert client.get("/api/v2/users").status_code == 200


def test_token_endpoint_is_rate_limited(small_tenant):
    with SandboxServer(small_tenant, rate_limit={"token": RateLimit(burst=2, per_second=0.1)}) \
            as server:
        statuses = [fetch_token(server).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = fetch_token(server)
        assert limited.json() == {"error": "too_many_requests",
                                  "error_description": "Global limit has been reached"}
        assert limited.headers["x-ratelimit-limit"] == "2"
        assert server.token_requests() == 4


def test_extra_429_and_always_429(small_tenant):
    with SandboxServer(small_tenant, faults=Faults(extra_429_rate=1.0)) as server, \
            management_client(server) as client:
        forced = client.get("/api/v2/users")
        assert forced.status_code == 429 and forced.json() == TOO_MANY
        assert int(forced.headers["x-ratelimit-reset"]) <= math.ceil(time.time() + 1)
        server.faults = Faults(always_429=True, reset_in_seconds=30)
        for _ in range(3):
            response = client.get("/api/v2/roles")
            assert response.status_code == 429
            assert int(response.headers["x-ratelimit-reset"]) >= int(time.time()) + 29
        assert fetch_token(server).status_code == 200  # faults_on_token is off
        server.faults = Faults(always_429=True, faults_on_token=True)
        assert fetch_token(server).status_code == 429
        server.faults = Faults()
        assert client.get("/api/v2/users").status_code == 200


def test_partial_429_rate_is_seeded(small_tenant):
    def run():
        with SandboxServer(small_tenant, faults=Faults(extra_429_rate=0.5, seed=4)) as server, \
                management_client(server) as client:
            return [client.get("/api/v2/users").status_code for _ in range(20)]

    first = run()
    assert 0 < first.count(429) < 20
    assert run() == first


def test_server_errors(small_tenant):
    with SandboxServer(small_tenant, faults=Faults(error_5xx_rate=1.0)) as server, \
            management_client(server) as client:
        statuses = set()
        for _ in range(12):
            response = client.get("/api/v2/users")
            statuses.add(response.status_code)
            body = response.json()
            assert body["statusCode"] == response.status_code and body["error"]
            assert "x-ratelimit-remaining" in response.headers
        assert statuses <= {500, 502, 503} and len(statuses) >= 2


class SleepSpy:
    """The `time` module as the sandbox server sees it, with every sleep recorded (and slept)."""

    def __init__(self):
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    def __getattr__(self, name: str):
        return getattr(time, name)


def test_latency(small_tenant, monkeypatch):
    """The server holds each answer for the configured latency (what it slept, not the client's clock)."""
    from bridged_auth0_pipeline.sandbox import server as server_module

    spy = SleepSpy()
    monkeypatch.setattr(server_module, "time", spy)
    with SandboxServer(small_tenant) as server, management_client(server) as client:
        assert client.get("/api/v2/users").status_code == 200
        assert spy.sleeps == [], "no latency configured, no wait"
        server.faults = Faults(latency_seconds=(0.15, 0.15))
        assert client.get("/api/v2/users").status_code == 200
        assert spy.sleeps == [0.15]


def test_dropped_connection(small_tenant):
    with SandboxServer(small_tenant) as server, management_client(server) as client:
        server.faults = Faults(drop_connection_rate=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v2/users")
        assert server.requests[-1].status == 0
        server.faults = Faults()
        assert client.get("/api/v2/users").status_code == 200


def test_truncated_body(small_tenant):
    with SandboxServer(small_tenant) as server, management_client(server) as client:
        server.faults = Faults(truncate_rate=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v2/users")
        server.faults = Faults()
        assert len(client.get("/api/v2/users").json()) == 5


def test_download_faults_are_opt_in(small_tenant):
    with SandboxServer(small_tenant, export_seconds=0) as server, \
            management_client(server) as client:
        job = client.post("/api/v2/jobs/users-exports", json={"format": "json"}).json()
        location = client.get(f"/api/v2/jobs/{job['id']}").json()["location"]
        server.faults = Faults(truncate_rate=1.0)
        assert httpx.get(location).status_code == 200
        server.faults = Faults(truncate_rate=1.0, faults_on_download=True)
        with pytest.raises(httpx.HTTPError):
            httpx.get(location)


def test_admin_api(small_tenant):
    with SandboxServer(small_tenant) as server, management_client(server) as client:
        base = server.base_url
        assert httpx.get(f"{base}/__sandbox/health").json() == {
            "users": 5, "logs": len(small_tenant.logs), "organizations": 0}
        assert httpx.post(f"{base}/__sandbox/faults",
                          json={"always_429": True}).status_code == 200
        assert server.faults.always_429
        assert client.get("/api/v2/users").status_code == 429
        httpx.post(f"{base}/__sandbox/faults", json={})
        created = httpx.post(f"{base}/__sandbox/users", json={"email": "new@example.com"})
        assert created.status_code == 201
        uid = created.json()["user_id"]
        patched = httpx.patch(f"{base}/__sandbox/users/{uid}", json={"name": "New Name"})
        assert patched.json()["name"] == "New Name"
        assert client.get(f"/api/v2/users/{uid}").json()["name"] == "New Name"
        assert httpx.delete(f"{base}/__sandbox/users/{uid}").status_code == 204
        assert client.get(f"/api/v2/users/{uid}").status_code == 404
        assert httpx.post(f"{base}/__sandbox/faults", json={"nope": 1}).status_code == 400
        before = server.management_request_count()
        httpx.get(f"{base}/__sandbox/health")
        assert server.management_request_count() == before
        assert {r.api for r in server.requests} >= {"admin", "management", "auth"}


def test_activity_logs_knob(small_tenant):
    with SandboxServer(small_tenant, activity_logs=True) as server:
        before = len(small_tenant.logs)
        fetch_token(server)
        fetch_token(server, client_secret="wrong")
        assert [e["type"] for e in small_tenant.logs[before:]] == ["seccft", "feccft"]
