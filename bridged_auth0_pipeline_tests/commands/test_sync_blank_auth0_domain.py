"""AUTH0_DOMAIN and AUTH0_CLIENT_ID are read by one rule (config/settings.py's EnvironmentTenant):
stripped, and blank is unset. So a blank AUTH0_DOMAIN is no tenant everywhere: `sync` serves the
sandbox, the directory lists no `default`, and a run of `default` fails with the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from bridged_auth0_pipeline.config.registry import DEFAULT_TENANT
from bridged_auth0_pipeline.config.resources import TenantResource
from bridged_auth0_pipeline.config.settings import EnvironmentTenant, SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT

CLI = str(Path(sys.executable).with_name("bridged-auth0"))


def test_the_environments_tenant_is_stripped_and_blank_is_unset():
    assert EnvironmentTenant.from_env({"AUTH0_DOMAIN": " acme.us.auth0.com\n", "AUTH0_CLIENT_ID": "\tabc "}) == \
        EnvironmentTenant("acme.us.auth0.com", "abc")
    assert EnvironmentTenant.from_env({"AUTH0_DOMAIN": "  ", "AUTH0_CLIENT_ID": ""}) == EnvironmentTenant(None, None)


def test_a_blank_domain_is_no_tenant_in_the_directory_and_the_resource(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("AUTH0_", "BRIDGED_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BRIDGED_CONNECTIONS_PATH", str(tmp_path / "connections.db"))
    monkeypatch.setenv("AUTH0_DOMAIN", "   ")
    monkeypatch.setenv("AUTH0_CLIENT_ID", " client ")
    settings = SyncSettings.from_env()
    directory = TenantDirectory(settings)
    assert directory.keys() == []
    tenant = directory.tenant(DEFAULT_TENANT)
    assert (tenant.domain, tenant.client_id) == (None, "client")
    with pytest.raises(dg.Failure, match=r"No Auth0 tenant is configured for this run .* Fix: set AUTH0_DOMAIN"):
        TenantResource.for_settings(settings).get_client()


@pytest.mark.slow
def test_sync_with_a_blank_domain_serves_the_sandbox(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_", "DAGSTER_"))}
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    env.update(AUTH0_DOMAIN="  ", DAGSTER_HOME=str(home), BRIDGED_DUCKDB_PATH=str(tmp_path / "warehouse.duckdb"),
               BRIDGED_CONNECTIONS_PATH=str(tmp_path / "connections.db"))
    result = subprocess.run([CLI, "sync", "--sandbox-users", "20"], env=env, capture_output=True, text=True,
                            timeout=300, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "AUTH0_DOMAIN is not set: syncing the built-in sandbox tenant (20 users)" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("default: synced in ")
