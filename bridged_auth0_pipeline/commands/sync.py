"""`bridged-auth0 sync`: the environment's tenant (or the built-in sandbox) through `dagster job
execute`, one connected tenant (`--tenant KEY`) or all of them (`--all`) as real Dagster runs.

Each run's Dagster log goes to a file; the console shows what the streams do, the steps, and an
end that says what happened: run id, rows per table, checks, where the warehouse is, what next —
or, for a failed run, its cause and fix as the last lines.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bridged_auth0_pipeline.commands.dagster_home import dagster_home_in
from bridged_auth0_pipeline.commands.follow import Outcome, follow, log_path
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory

DEMO_USERS = 1000


def sync_environment_tenant(settings: SyncSettings, sandbox_users: int) -> int:
    """Today's `make sync`: the AUTH0_* tenant, or the sandbox when AUTH0_DOMAIN is not set."""
    env = dict(os.environ)
    server = None
    if not env.get("AUTH0_DOMAIN"):
        server = start_demo_sandbox(env, sandbox_users)
        print(f"AUTH0_DOMAIN is not set: syncing the built-in sandbox tenant ({sandbox_users} users) at {server.base_url}")
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "job", "execute", "-m", "bridged_auth0_pipeline.definitions", "-j", "auth0_sync"]
    try:
        with dagster_home_in(env):
            return _run_and_report("default", command, env, settings.duckdb_path)
    finally:
        if server is not None:
            server.__exit__(None, None, None)


def start_demo_sandbox(env: dict[str, str], users: int):
    """Serve the demo tenant (`make sync`, `make dev`) and point `env`'s AUTH0_* at it. Its client has
    the naming tables' scopes too, so the demo syncs connections and clients without a warning."""
    from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
    from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES

    secret = secrets.token_urlsafe(24)  # a throwaway credential, handed to the job in its environment only
    server = SandboxServer(SandboxTenant.demo(users=users), client_secret=secret,
                           scopes=DEFAULT_SCOPES + ("read:connections", "read:clients"))
    server.__enter__()
    env.update(AUTH0_DOMAIN=server.base_url, AUTH0_CLIENT_ID=server.client_id, AUTH0_CLIENT_SECRET=secret)
    env.pop("AUTH0_AUDIENCE", None)
    return server


def sync_tenant(key: str) -> int:
    """One connected tenant's auth0_sync as a real run in the Dagster instance; the last line printed
    is its outcome (`sync --all` shows it)."""
    tenant = TenantDirectory(SyncSettings.from_env()).tenant(key)
    command = [sys.executable, "-m", "bridged_auth0_pipeline.commands.run_tenant", key]
    return _run_and_report(key, command, dict(os.environ), tenant.warehouse_path)


def _run_and_report(key: str, command: list[str], env: dict[str, str], warehouse: str) -> int:
    log = log_path(f"sync-{key}")
    print(f"{key}: syncing (Dagster's full log: {log})", flush=True)
    started = time.monotonic()
    outcome = follow(command, env, log)
    seconds = time.monotonic() - started
    run = f"run {outcome.run_id}" if outcome.run_id else "no run was created"
    checks = f"checks: {len(outcome.checks_passed)} passed, {len(outcome.checks_failed)} failed"
    if outcome.checks_failed:
        checks += f" ({', '.join(outcome.checks_failed)})"
    if outcome.returncode != 0:
        print(f"\n{checks}. Full log: {log}")
        print(f"The warehouse {warehouse} keeps its last consistent state.")
        print(f"{key}: FAILED in {seconds:.1f} s ({run}): {_cause(outcome)}")
        return 1
    print_row_counts(warehouse)
    print(f"\n{checks}.")
    print("Next:")
    print(f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{warehouse}', read_only=True)"
          ".sql('SELECT segment, count(*) FROM playbooks.nurture GROUP BY ALL'))\"")
    print("  make dev                                  # the Dagster UI: lineage, checks, run history")
    print("  .venv/bin/bridged-auth0 user <user_id or email>" + ("" if key == "default" else f" --tenant {key}"))
    print(f"{key}: synced in {seconds:.1f} s ({run}) into {warehouse}")
    return 0


def _cause(outcome: Outcome) -> str:
    """The failed run's cause, as the instance recorded it (the message carries the fix)."""
    if outcome.run_id and os.environ.get("DAGSTER_HOME"):
        import dagster as dg

        from bridged_auth0_pipeline.orchestration.sensors import failure_cause

        with dg.DagsterInstance.get() as instance:
            if instance.has_run(outcome.run_id):
                return " ".join(failure_cause(instance, outcome.run_id).split())
    return " ".join((outcome.failure or f"exit status {outcome.returncode}; see the log").split())


def sync_all(parallel: int) -> int:
    """Every tenant, `parallel` at a time, each in its own process; one line per tenant as it finishes."""
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
        command = [sys.executable, "-m", "bridged_auth0_pipeline.cli", "sync", "--tenant", key]
        result = subprocess.run(command, capture_output=True, text=True)
        lines = (result.stdout + result.stderr).strip().splitlines()
        print(lines[-1] if lines else f"{key}: exited {result.returncode}", flush=True)
        return result.returncode

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
