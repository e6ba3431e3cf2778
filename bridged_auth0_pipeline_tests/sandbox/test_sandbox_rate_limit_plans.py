"""Auth0's plans in the sandbox over real HTTP: the buckets per plan (a bucket per endpoint group,
or one for the tenant) and the command line that serves a plan. The pacer against these shapes:
auth0/test_rate_limit_plans.py."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.sandbox.ratelimit import RateLimiter

from bridged_auth0_pipeline_tests.sandbox_fixtures import CLIENT_SECRET, management_client
REPO = Path(__file__).resolve().parents[2]


def plan_tenant() -> SandboxTenant:
    return SandboxTenant.generate(users=800, seed=21)


def _limits(response: httpx.Response) -> tuple[int, int]:
    return int(response.headers["x-ratelimit-limit"]), int(response.headers["x-ratelimit-remaining"])


def test_essentials_limits_each_endpoint_group_on_its_own(sandbox_factory):
    server = sandbox_factory(plan_tenant(), rate_limit="essentials", client_secret=CLIENT_SECRET)
    with management_client(server) as client:
        frozen_buckets(server)
        assert _limits(client.get("/api/v2/users")) == (40, 39)
        assert _limits(client.get("/api/v2/users-by-email", params={"email": "x@example.com"})) == (40, 38)
        assert _limits(client.get("/api/v2/logs", params={"from": "0", "take": 1})) == (10, 9)
        assert _limits(client.get("/api/v2/roles")) == (10, 9)
        assert _limits(client.get("/api/v2/organizations")) == (5, 4)  # not served yet, limited already
        statuses = [client.get("/api/v2/logs", params={"from": "0", "take": 1}).status_code for _ in range(10)]
        assert statuses == [200] * 9 + [429]
        assert client.get("/api/v2/roles").status_code == 200  # the logs bucket is empty, not the others


def frozen_buckets(server) -> None:
    """No refill while the test looks at the countdowns: exact on a loaded machine too (Enterprise
    refills 16 a second, so 51 requests at 60 ms each would otherwise see tokens come back)."""
    moment = time.time()
    for bucket in server._limiter.buckets.values():
        bucket.updated = moment
        bucket.clock = lambda: moment


@pytest.mark.parametrize("plan, burst", [("enterprise", 50), ("free", 2)])
def test_free_and_enterprise_have_one_bucket_for_the_whole_tenant(sandbox_factory, plan, burst):
    server = sandbox_factory(plan_tenant(), rate_limit=plan, client_secret=CLIENT_SECRET)
    with management_client(server) as client:
        frozen_buckets(server)
        paths = ["/api/v2/users", "/api/v2/logs", "/api/v2/roles", "/api/v2/organizations"]
        seen = [client.get(paths[n % len(paths)]) for n in range(burst + 1)]
    assert {int(r.headers["x-ratelimit-limit"]) for r in seen} == {burst}
    # One countdown across all groups.
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in seen[:burst]]
    assert remaining == list(range(burst - 1, -1, -1))
    assert seen[-1].status_code == 429


def test_unknown_plan_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="enterprise.*essentials.*free"):
        RateLimiter("gold")


# -- the command line --------------------------------------------------------------------------------

def _sandbox_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from bridged_auth0_pipeline.sandbox.cli import run_sandbox; "
            "sys.exit(run_sandbox(sys.argv[1:]))", *args]


def test_print_env_serves_in_the_background_for_eval(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = (f'eval "$({shlex.join(_sandbox_command("--print-env", "--users", "30", "--port", "0", "--plan", "essentials"))})" '
              '&& echo "$AUTH0_DOMAIN $AUTH0_CLIENT_ID $AUTH0_CLIENT_SECRET $AUTH0_AUDIENCE $BRIDGED_SANDBOX_PID"')
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    domain, client_id, secret, audience, pid = done.stdout.split()
    try:
        assert (client_id, secret, audience) == ("sandbox-client", "sandbox-secret", f"{domain}/api/v2/")
        assert httpx.get(f"{domain}/__sandbox/health").json()["users"] == 30
        token = httpx.post(f"{domain}/oauth/token", json={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "audience": audience}).json()["access_token"]
        logs = httpx.get(f"{domain}/api/v2/logs", headers={"Authorization": f"Bearer {token}"})
        assert logs.headers["x-ratelimit-limit"] == "10"  # --plan essentials
    finally:
        os.kill(int(pid), signal.SIGTERM)


def test_print_env_reports_a_port_it_cannot_take():
    with held_port() as port:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(_sandbox_command("--print-env", "--users", "5", "--port", str(port)), env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert f"cannot start the sandbox on 127.0.0.1:{port}" in done.stderr


class held_port:
    """A port held by a listening socket for the duration of the block."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()
