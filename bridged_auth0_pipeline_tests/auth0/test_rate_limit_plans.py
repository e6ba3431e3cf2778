"""The pacer over real HTTP against Auth0's plan shapes in the sandbox: no 429 in either shape (a
bucket per endpoint group, or one for the tenant) while it learns which it is. The sandbox's own
plan buckets and command line: sandbox/test_sandbox_rate_limit_plans.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bridged_auth0_pipeline.auth0 import Auth0Client
from bridged_auth0_pipeline.auth0.roles import iter_members_of_roles
from bridged_auth0_pipeline.sandbox import RateLimit, SandboxTenant


# Three streams at once, as the extraction runs them.

def plan_tenant() -> SandboxTenant:
    return SandboxTenant.generate(users=800, seed=21)


def _three_streams(server) -> tuple[Auth0Client, dict]:
    client = Auth0Client.connect(server.base_url, server.client_id, server.client_secret, page_size=10)
    tenant = server.tenant

    def users():
        return sorted(u["user_id"] for u in client.users_updated_since(None))

    def logs():
        return sorted(e["log_id"] for page in client.log_pages(None) for e in page)

    def members():
        pages = iter_members_of_roles(client.session, list(tenant.role_members), take=10)
        return sorted((role_id, m["user_id"]) for role_id, page in pages for m in page)

    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(fn) for name, fn in (("users", users), ("logs", logs), ("members", members))}
        got = {name: f.result() for name, f in futures.items()}
    assert 429 not in _statuses(server)  # before the comparison: each 429 also adds an api_limit event
    assert got["users"] == sorted(tenant.users)
    assert got["logs"] == sorted(e["log_id"] for e in tenant.logs)
    assert got["members"] == sorted((r, u) for r, users in tenant.role_members.items() for u in users)
    return client, got


def _statuses(server) -> list[int]:
    return [r.status for r in server.requests if r.api == "management"]


def test_one_bucket_for_the_tenant_causes_no_429(sandbox_factory):
    """The emulator case: every group draws from one bucket. Paced per group, the three streams
    would spend it three times over; the pacer sees the shared countdown and paces them together."""
    # A bucket that takes a second to refill, as every plan's does (Free 2/2 per s, Enterprise 50 at
    # 16/s): the pacer tells the shapes apart on that premise. At 10 refilled 40 a second (0.25 s),
    # a count grown by refill between two answers looked like a second bucket: 2 runs in 6 got 429s.
    server = sandbox_factory(plan_tenant(), rate_limit={"global": RateLimit(burst=20, per_second=20)})
    client, _ = _three_streams(server)
    with client:
        statuses = _statuses(server)
        assert len(statuses) > 100 and 429 not in statuses
        assert client.session.pacer.shape.shared is True


def test_a_bucket_per_group_with_equal_limits_causes_no_429_and_is_told_apart(sandbox_factory):
    """Essentials' logs and 'other' buckets report the same limit: only the counts tell them apart."""
    server = sandbox_factory(plan_tenant(), rate_limit=RateLimit(burst=10, per_second=40))
    client, _ = _three_streams(server)
    with client:
        assert 429 not in _statuses(server)
        assert client.session.pacer.shape.shared is False


def test_essentials_buckets_cause_no_429(sandbox_factory):
    # Essentials' shape (users 40 a bucket, logs and the rest 10), refilled faster to keep the test short.
    limits = {"users": RateLimit(40, 40), "logs": RateLimit(10, 20), "other": RateLimit(10, 30)}
    server = sandbox_factory(plan_tenant(), rate_limit=limits)
    client, _ = _three_streams(server)
    with client:
        assert 429 not in _statuses(server)
        assert client.session.pacer.shape.shared is False
        assert "x-ratelimit-limit" in client.session.pacer.shape.reason
