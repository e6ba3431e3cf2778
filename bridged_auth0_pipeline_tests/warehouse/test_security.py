"""Secrets never reach logs, the event log, run config, the warehouse or any file."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from bridged_auth0_pipeline.auth0 import Auth0Client
from bridged_auth0_pipeline.sandbox import Faults, SandboxTenant
from bridged_auth0_pipeline_tests.helpers import dagster_job_execute, pipeline_process_env
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_no_idp_tokens

MARKER_SECRET = "MARKER-client-secret-5f1d0c9e"


def files_containing(root: Path, needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [needle for needle in needles if needle.encode() in data]
            if hits:
                found[str(path)] = hits
    return found


@pytest.mark.slow
def test_full_sync_through_the_cli_leaks_no_secret(sandbox_factory, tmp_path):
    tenant = SandboxTenant.generate(users=300, seed=51)
    server = sandbox_factory(tenant, client_secret=MARKER_SECRET, token_ttl_seconds=2,
                             faults=Faults(extra_429_rate=0.05, error_5xx_rate=0.05, seed=4))
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    home = tmp_path / "dagster_home"
    env = pipeline_process_env(server, warehouse)
    outputs = []
    for _ in range(2):  # a full and an incremental run
        process = dagster_job_execute(env, home)
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-3000:]
        outputs.append(output)

    tokens = server.issued_tokens()
    assert len(tokens) >= 2, "the short TTL makes the runs renew their token"
    needles = [MARKER_SECRET, *tokens]
    assert files_containing(home, needles) == {}
    assert files_containing(warehouse.parent, needles) == {}
    assert not [needle for needle in needles if any(needle in output for output in outputs)]
    assert "RUN_SUCCESS" in outputs[0], "the captured output is the real event stream"
    assert_no_idp_tokens(warehouse, tenant)


def test_tls_verification_is_always_on_for_real_tenants():
    client = Auth0Client.connect("tenant.auth0.com", "id", "secret")
    try:
        context = client.session._http._transport._pool._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    finally:
        client.session.close()
