"""`bridged-auth0 sync`: the environment's tenant (or the built-in sandbox) through `dagster job
execute`, one connected tenant (`--tenant KEY`) or all of them (`--all`) as real Dagster runs.

Each run's Dagster log goes to a file; the console shows what the streams do, the steps, and an
end that says what happened: run id, rows per table, checks, where the warehouse is, what next —
or, for a failed run, its cause and fix as the last lines.
"""

from __future__ import annotations

import math
import os
import secrets
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bridged_auth0_pipeline.commands import forked_runs, process_groups
from bridged_auth0_pipeline.commands.dagster_home import dagster_home_in
from bridged_auth0_pipeline.commands.follow import Outcome, follow, follow_output, log_path
from bridged_auth0_pipeline.commands.tenants import latest_runs
from bridged_auth0_pipeline.config.settings import EnvironmentTenant, SettingsError, SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory

DEMO_USERS = 1000


def sync_environment_tenant(settings: SyncSettings, sandbox_users: int) -> int:
    """Today's `make sync`: the AUTH0_* tenant, or the sandbox when AUTH0_DOMAIN is not set."""
    env = dict(os.environ)
    server = None
    if EnvironmentTenant.from_env(env).domain is None:
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
    the optional scopes too, so the demo syncs connections and clients without a warning."""
    from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
    from bridged_auth0_pipeline.sandbox.server import DEMO_SCOPES

    secret = secrets.token_urlsafe(24)  # a throwaway credential, handed to the job in its environment only
    server = SandboxServer(SandboxTenant.demo(users=users), client_secret=secret,
                           scopes=DEMO_SCOPES)
    server.__enter__()
    env.update(AUTH0_DOMAIN=server.base_url, AUTH0_CLIENT_ID=server.client_id, AUTH0_CLIENT_SECRET=secret)
    env.pop("AUTH0_AUDIENCE", None)
    return server


def sync_tenant(key: str) -> int:
    """One connected tenant's auth0_sync as a real run in the Dagster instance, in a fresh
    interpreter; the last line printed is its outcome, the line `sync --all` prints per tenant."""
    tenant = TenantDirectory(SyncSettings.from_env()).tenant(key)
    return _run_and_report(key, forked_runs.run_tenant_command(key), dict(os.environ), tenant.warehouse_path)


def _run_and_report(key: str, command: list[str], env: dict[str, str], warehouse: str) -> int:
    log = log_path(f"sync-{key}")
    print(f"{key}: syncing (Dagster's full log: {log})", flush=True)
    started = time.monotonic()
    outcome = follow(command, env, log)
    seconds = time.monotonic() - started
    checks = f"checks: {len(outcome.checks_passed)} passed, {len(outcome.checks_failed)} failed"
    if outcome.checks_failed:
        checks += f" ({', '.join(outcome.checks_failed)})"
    if outcome.returncode != 0:
        print(f"\n{checks}. Full log: {log}")
        print(f"The warehouse {warehouse} keeps its last consistent state.")
        print(outcome_line(key, outcome, seconds, warehouse))
        return 1
    print_row_counts(warehouse)
    print(f"\n{checks}.")
    print("Next:")
    print(f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{warehouse}', read_only=True)"
          ".sql('SELECT segment, count(*) FROM playbooks.nurture GROUP BY ALL'))\"")
    print("  make dev                                  # the Dagster UI: lineage, checks, run history")
    print("  .venv/bin/bridged-auth0 user <user_id or email>" + ("" if key == "default" else f" --tenant {key}"))
    print(outcome_line(key, outcome, seconds, warehouse))
    return 0


def outcome_line(key: str, outcome: Outcome, seconds: float, warehouse: str) -> str:
    """The last line of a tenant's sync, the one `sync --all` prints per tenant."""
    run = f"run {outcome.run_id}" if outcome.run_id else "no run was created"
    if outcome.peak_memory_mb is not None:
        run += f", peak memory {outcome.peak_memory_mb} MB"
    if outcome.returncode != 0:
        return f"{key}: FAILED in {seconds:.1f} s ({run}): {_cause(outcome)}"
    return f"{key}: synced in {seconds:.1f} s ({run}) into {warehouse}"


def _cause(outcome: Outcome) -> str:
    """The failed run's cause, as the instance recorded it (the message carries the fix)."""
    if outcome.interrupted:
        return "interrupted (Ctrl-C). Fix: sync again; it continues from the warehouse's last committed state."
    if outcome.returncode < 0:
        return _killed(outcome)
    if outcome.run_id and os.environ.get("DAGSTER_HOME"):
        import dagster as dg

        from bridged_auth0_pipeline.orchestration.sensors import failure_cause

        with dg.DagsterInstance.get() as instance:
            if instance.has_run(outcome.run_id):
                return " ".join(failure_cause(instance, outcome.run_id).split())
    return " ".join((outcome.failure or f"exit status {outcome.returncode}; see the log").split())


def _killed(outcome: Outcome) -> str:
    """A run whose process was killed never records its end: it stays STARTED in the instance, and
    the 429 sensor and the queue (one run per tenant) wait on it. A daemon's run monitoring fails a
    run it did not launch only after max_runtime_seconds (an hour), and without a daemon nothing
    does; this process saw the kill, so it marks the run failed now."""
    try:
        name = signal.Signals(-outcome.returncode).name
    except ValueError:
        name = f"signal {-outcome.returncode}"
    cause = f"the run's process was killed by {name}"
    if outcome.run_id and os.environ.get("DAGSTER_HOME"):
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            run = instance.get_run_by_id(outcome.run_id)
            if run is not None and not run.is_finished:
                instance.report_run_failed(run, f"{cause}; marked failed by bridged-auth0 sync.")
                cause += ", so its run is marked failed"
    memory = " If the kernel's out-of-memory killer sent it (dmesg), sync fewer tenants at once." if name == "SIGKILL" else ""
    return f"{cause}. Fix: sync the tenant again; it continues from the warehouse's last committed state.{memory}"


def sync_all(parallel: int) -> int:
    """Every tenant, `parallel` at a time, each run in its own process (forked, forked_runs.py); one
    line per tenant as it finishes, its log in a file."""
    directory = TenantDirectory(SyncSettings.from_env())
    keys = directory.keys()
    if not keys:
        print("No tenant to sync: connect one with `bridged-auth0 connect`, or set AUTH0_DOMAIN.")
        return 0
    # Once, before the threads; and before reading the run history, which imports Dagster too: the
    # server's imports (~1.2 s) then overlap it (~1.1 s) on a second core instead of following it.
    forked_runs.start_server()
    # Reading the instance also creates its storage, once: runs racing to create it fail.
    sizes = {stored.key: stored.active_users for stored in directory.registry.all()}
    keys = longest_first(keys, latest_runs(limit=max(1000, 3 * len(keys))), sizes)

    def run(key: str) -> int:
        started = time.monotonic()
        try:
            warehouse = directory.tenant(key).warehouse_path
        except SettingsError as exc:
            print(f"{key}: FAILED in 0.0 s (no run was created): {exc}", flush=True)
            return 2
        outcome = follow_output(forked_runs.start(key, parallel), log_path(f"sync-{key}"), quiet=True)
        print(outcome_line(key, outcome, time.monotonic() - started, warehouse), flush=True)
        return outcome.returncode

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [pool.submit(run, key) for key in keys]
        try:
            codes = [future.result() for future in futures]
        except KeyboardInterrupt:  # Ctrl-C: start no more runs, interrupt those running, report each
            pool.shutdown(wait=False, cancel_futures=True)
            process_groups.interrupt_runs()
            codes = [future.result() for future in futures if not future.cancelled()]
            print(f"Interrupted: {len(codes)} of {len(keys)} tenants started, {sum(1 for c in codes if c)} of them failed or "
                  "stopped. Fix: sync again; each tenant continues from its warehouse's last committed state.")
            return 130
    failed = sum(1 for code in codes if code)
    print(f"{len(keys) - failed} of {len(keys)} tenants synced" + (f", {failed} failed." if failed else "."))
    return 1 if failed else 0


def longest_first(keys: list[str], latest: dict, active_users: dict[str, int | None] | None = None) -> list[str]:
    """Tenants without a finished run first (a first sync is a full one), the largest by their active
    users (`connect` counts them with read:stats; uncounted ones before them), then the rest by their
    latest run's duration, longest first; ties keep the directory's order. With C at a time, a long
    run started last keeps everyone waiting on it while the other slots idle: the first sync of 20
    tenants of 1k-20k users, keys in ascending size, took 74.0 s at C = 4 in key order and 62.4 s
    largest first by active users (benchmarks/tenants.py, one run each).
    """
    active_users = active_users or {}

    def rank(key: str) -> tuple[int, float]:
        record = latest.get(key)
        if record is None or not (record.start_time and record.end_time):
            size = active_users.get(key)
            return 0, -math.inf if size is None else -size
        return 1, -(record.end_time - record.start_time)

    return sorted(keys, key=rank)  # stable: ties keep their order


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
