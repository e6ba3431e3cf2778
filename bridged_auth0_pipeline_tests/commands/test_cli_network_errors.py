"""Interactive commands name what failed before any HTTP answer — DNS, a refused connection, TLS —
with the fix, instead of retrying for a quarter of a minute and blaming the sync."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT

CLI = str(Path(sys.executable).with_name("bridged-auth0"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_command(domain: str, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_"))}
    env.update(AUTH0_DOMAIN=domain, AUTH0_CLIENT_ID="client", AUTH0_CLIENT_SECRET="secret",
               BRIDGED_CONNECTIONS_PATH=str(tmp_path / "connections.db"))
    return subprocess.run([CLI, "user", "auth0|507f1f77bcf86cd799439020"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=REPO_ROOT)


@pytest.mark.parametrize(("domain", "cause"), [
    ("no-such-tenant.invalid", "does not resolve (DNS lookup failed)"),
    (f"http://127.0.0.1:{closed_port()}", "(connection refused)"),
])
def test_dns_and_refused_connections_are_named(domain, cause, tmp_path):
    result = user_command(domain, tmp_path)
    assert result.returncode == 2
    assert cause in result.stderr and "Fix: check the tenant domain" in result.stderr
    assert "re-run the sync" not in result.stderr


def test_a_tls_failure_is_named(sandbox_factory, tmp_path):
    server = sandbox_factory(SandboxTenant.generate(users=5, seed=71))  # speaks plain HTTP
    result = user_command(server.base_url.replace("http://", "https://"), tmp_path)
    assert result.returncode == 2
    assert "the TLS handshake with https://127.0.0.1" in result.stderr, result.stderr
    assert server.requests == [], "no HTTP request ever reached it"
