"""`bridged-auth0 sync`: the environment's tenant (or the built-in sandbox) through `dagster job
execute`, one connected tenant (`--tenant KEY`) or all of them (`--all`) as real Dagster runs."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory

DEMO_USERS = 1000


def sync_environment_tenant(settings: SyncSettings, sandbox_users: int) -> int:
    """Today's `make sync`: the AUTH0_* tenant, or the sandbox when AUTH0_DOMAIN is not set."""
    env = dict(os.environ)
    server = None
    if not env.get("AUTH0_DOMAIN"):
        from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant

        secret = secrets.token_urlsafe(24)  # a throwaway credential, handed to the job in its environment only
        server = SandboxServer(SandboxTenant.generate(users=sandbox_users, seed=7), client_secret=secret)
        server.__enter__()
        env.update(AUTH0_DOMAIN=server.base_url, AUTH0_CLIENT_ID=server.client_id, AUTH0_CLIENT_SECRET=secret)
        env.pop("AUTH0_AUDIENCE", None)
        print(f"AUTH0_DOMAIN is not set: syncing the built-in sandbox tenant ({sandbox_users} users) at {server.base_url}")
    try:
        dagster = Path(sys.executable).with_name("dagster")
        command = [str(dagster), "job", "execute", "-m", "bridged_auth0_pipeline.definitions", "-j", "auth0_sync"]
        returncode = subprocess.call(command, env=env)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    if returncode != 0:
        print(f"auth0_sync failed (exit {returncode}); the warehouse keeps its last consistent state.", file=sys.stderr)
        return returncode
    print_row_counts(settings.duckdb_path)
    return 0


def sync_tenant(key: str) -> int:
    """One tenant's auth0_sync as a real run in the Dagster instance (DAGSTER_HOME, else a throwaway one);
    the last line printed is its outcome."""
    import dagster as dg

    from bridged_auth0_pipeline.definitions import auth0_sync_job, defs  # noqa: F401 - loads the code location
    from bridged_auth0_pipeline.orchestration.jobs import sync_asset_keys, tenant_tags
    from bridged_auth0_pipeline.orchestration.sensors import failure_cause

    settings = SyncSettings.from_env()
    tenant = TenantDirectory(settings).tenant(key)
    selection = sorted(sync_asset_keys(tenant.settings) & sync_asset_keys(settings), key=str)
    started = time.monotonic()
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    with instance:
        result = dg.execute_job(dg.reconstructable(auth0_sync_job), instance, tags=tenant_tags(key),
                                asset_selection=selection)
        seconds = time.monotonic() - started
        if not result.success:
            print(f"{key}: FAILED in {seconds:.1f} s (run {result.run_id}): {failure_cause(instance, result.run_id)}")
            return 1
    print_row_counts(tenant.warehouse_path)
    print(f"{key}: synced in {seconds:.1f} s (run {result.run_id}) into {tenant.warehouse_path}")
    return 0


def sync_all(parallel: int) -> int:
    """Every tenant, `parallel` at a time, each in its own process (its log beside its warehouse);
    one line per tenant as it finishes."""
    directory = TenantDirectory(SyncSettings.from_env())
    keys = directory.keys()
    if not keys:
        print("No tenant to sync: connect one with `bridged-auth0 connect`, or set AUTH0_DOMAIN.")
        return 0

    if os.environ.get("DAGSTER_HOME"):  # create the instance's storage once: processes racing to create it fail
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)

    def run(key: str) -> int:
        log = Path(directory.tenant(key).warehouse_path).with_suffix(".sync.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            code = subprocess.call([sys.executable, "-m", "bridged_auth0_pipeline.cli", "sync", "--tenant", key],
                                   stdout=out, stderr=subprocess.STDOUT)
        lines = log.read_text(errors="replace").strip().splitlines()
        print(f"{lines[-1] if lines else f'{key}: exited {code}'}   (log: {log})", flush=True)
        return code

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        codes = list(pool.map(run, keys))
    failed = sum(1 for code in codes if code)
    print(f"{len(keys) - failed} of {len(keys)} tenants synced" + (f", {failed} failed." if failed else "."))
    return 1 if failed else 0


def print_row_counts(duckdb_path: str) -> None:
    import duckdb

    with duckdb.connect(duckdb_path, read_only=True) as con:
        relations = con.execute(
            """SELECT table_schema || '.' || table_name FROM information_schema.tables
               WHERE table_schema IN ('auth0', 'playbooks') AND table_name NOT LIKE '\\_%' ESCAPE '\\'
               ORDER BY table_type, table_schema, table_name"""
        ).fetchall()
        print(f"\nWarehouse {duckdb_path}:")
        for (name,) in relations:
            print(f"  {name:<36} {con.execute(f'SELECT count(*) FROM {name}').fetchone()[0]:>10,} rows")
