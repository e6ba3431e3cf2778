"""Shared fixtures: a real sandbox on 127.0.0.1, a real DuckDB file, the real definitions."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
from bridged_auth0_pipeline_tests.helpers import SECRET


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(tenant: SandboxTenant | None = None, **kwargs) -> SandboxServer:
        server = SandboxServer(tenant if tenant is not None else SandboxTenant.generate(users=50, seed=1),
                               client_secret=kwargs.pop("client_secret", SECRET), **kwargs)
        server.__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def pipeline_env(monkeypatch: pytest.MonkeyPatch, warehouse_path: Path) -> Callable[..., None]:
    """Point the pipeline's environment at a sandbox and a temp warehouse (plus any BRIDGED_* overrides)."""
    for name in list(os.environ):
        if name.startswith(("AUTH0_", "BRIDGED_")):
            monkeypatch.delenv(name)

    def point_at(server: SandboxServer, **settings: str) -> None:
        monkeypatch.setenv("AUTH0_DOMAIN", server.base_url)
        monkeypatch.setenv("AUTH0_CLIENT_ID", server.client_id)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", server.client_secret)
        monkeypatch.setenv("BRIDGED_DUCKDB_PATH", str(warehouse_path))
        # No connected tenant of the developer's (data/connections.db) leaks into a test.
        monkeypatch.setenv("BRIDGED_CONNECTIONS_PATH", str(warehouse_path.parent / "connections.db"))
        monkeypatch.setenv("BRIDGED_WAREHOUSE_DIR", str(warehouse_path.parent / "tenants"))
        for name, value in settings.items():
            monkeypatch.setenv(name, value)

    return point_at


@pytest.fixture
def run_sync() -> Callable[..., dg.ExecuteInProcessResult]:
    """Build the definitions from the current environment and execute auth0_sync in process."""
    from bridged_auth0_pipeline.definitions import build_definitions
    from bridged_auth0_pipeline.config.settings import SyncSettings

    def run(instance: dg.DagsterInstance | None = None, raise_on_error: bool = True, **kwargs) -> dg.ExecuteInProcessResult:
        job = build_definitions(SyncSettings.from_env()).resolve_job_def("auth0_sync")
        if instance is not None:
            return job.execute_in_process(instance=instance, raise_on_error=raise_on_error, **kwargs)
        with dg.DagsterInstance.ephemeral() as ephemeral:
            return job.execute_in_process(instance=ephemeral, raise_on_error=raise_on_error, **kwargs)

    return run


