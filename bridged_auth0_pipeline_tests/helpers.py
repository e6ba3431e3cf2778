"""What the tests share besides fixtures: the repository, the marker secret, a read-only query,
the real CLI path, an administrator's Management API client. A plain module: tests import it, never conftest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import httpx

from bridged_auth0_pipeline.sandbox import SandboxServer

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-secret-c0ffee-MARKER"


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def dagster_job_execute(env: dict[str, str], dagster_home: Path, **popen) -> subprocess.Popen:
    """Start the real CLI path: `dagster job execute -m bridged_auth0_pipeline.definitions -j auth0_sync`."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    command = [str(Path(sys.executable).with_name("dagster")), "job", "execute",
               "-m", "bridged_auth0_pipeline.definitions", "-j", "auth0_sync"]
    return subprocess.Popen(
        command, env={**env, "DAGSTER_HOME": str(dagster_home)}, cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **popen,
    )


@contextmanager
def instance_at(dagster_home: Path | str) -> Iterator:
    """The Dagster instance of a DAGSTER_HOME folder, opened as Dagster's own processes open it: with
    DAGSTER_HOME set, which ./dagster.yaml's event log needs to find its files."""
    import dagster as dg

    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = before


def pipeline_process_env(server: SandboxServer, warehouse: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_", "DAGSTER_"))}
    env.update(AUTH0_DOMAIN=server.base_url, AUTH0_CLIENT_ID=server.client_id,
               AUTH0_CLIENT_SECRET=server.client_secret, BRIDGED_DUCKDB_PATH=str(warehouse),
               BRIDGED_CONNECTIONS_PATH=str(warehouse.parent / "connections.db"), **settings)
    return env


def management_writer(server: SandboxServer) -> httpx.Client:
    """An administrator's Management API client (its own token, with write scopes)."""
    token = httpx.post(f"{server.base_url}/oauth/token", json={
        "grant_type": "client_credentials", "client_id": server.client_id,
        "client_secret": server.client_secret, "audience": server.audience}).json()["access_token"]
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def ok(response: httpx.Response) -> httpx.Response:
    assert response.is_success, (response.request.method, response.request.url, response.text)
    return response
