"""Many customers, one deployment: connected tenants over the real CLI and the sandbox over HTTP.

Each tenant's warehouse equals its own tenant and nothing else; a failing tenant fails alone;
secrets are stored as ciphertext only and reach no log, file or warehouse; tenants get exactly
their own settings; the registry takes a writer beside readers in other processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import httpx
import pytest
from cryptography.fernet import Fernet

from bridged_auth0_pipeline.config.registry import ConnectionRegistry
from bridged_auth0_pipeline.config.secrets import SecretBox
from bridged_auth0_pipeline.config.settings import SettingsError, SyncSettings
from bridged_auth0_pipeline.orchestration.schedules import AUTH0_SYNC_SCHEDULE, jitter_minutes
from bridged_auth0_pipeline.sandbox import Faults, SandboxTenant
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT, instance_at, query
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_warehouse_equals_tenant

CLI = str(Path(sys.executable).with_name("bridged-auth0"))


@pytest.fixture
def deployment(tmp_path) -> dict[str, str]:
    """The environment of a deployment with a key, a registry, a warehouse folder and an instance."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_", "DAGSTER_"))}
    return {**env, "BRIDGED_SECRET_KEY": Fernet.generate_key().decode(), "DAGSTER_HOME": str(home),
            "BRIDGED_CONNECTIONS_PATH": str(tmp_path / "connections.db"),
            "BRIDGED_WAREHOUSE_DIR": str(tmp_path / "tenants")}


def cli(env: dict[str, str], *args: str, secret: str | None = None, outputs: list | None = None):
    result = subprocess.run([CLI, *args], env=env, input=secret, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    if outputs is not None:
        outputs.append(result.stdout + result.stderr)
    return result


def connect(env, key, server, secret, *extra, outputs=None):
    return cli(env, "connect", key, "--domain", server.base_url, "--client-id", server.client_id, *extra,
               secret=secret + "\n", outputs=outputs)


def rebrand(tenant: SandboxTenant, domain: str) -> SandboxTenant:
    """Give every user of `tenant` an email at `domain`: rows that could only come from this tenant."""
    for user_id, user in list(tenant.users.items()):
        if user.get("email"):
            tenant.update_user(user_id, email=f"{user_id.split('|')[-1][:12]}@{domain}")
    return tenant


@pytest.mark.slow
def test_tenants_with_overlapping_ids_each_land_exactly_their_own(sandbox_factory, deployment, tmp_path):
    outputs: list[str] = []
    acme = rebrand(SandboxTenant.generate(users=60, seed=1), "acme.example")
    beta = rebrand(SandboxTenant.generate(users=40, seed=1), "beta.example")  # the same generator: ids overlap
    gamma = SandboxTenant.generate(users=30, seed=3)
    assert set(acme.users) & set(beta.users), "the point is overlapping user ids"
    servers = {key: sandbox_factory(tenant, client_secret=f"{key}-secret-MARKER")
               for key, tenant in (("acme", acme), ("beta", beta), ("gamma", gamma))}

    for key in ("acme", "beta"):
        done = connect(deployment, key, servers[key], f"{key}-secret-MARKER", outputs=outputs)
        assert done.returncode == 0, done.stderr
    refused = connect(deployment, "gamma", servers["gamma"], "wrong-secret-MARKER", outputs=outputs)
    assert refused.returncode == 2 and "not stored" in refused.stderr and "401" in refused.stderr
    assert "gamma" not in ConnectionRegistry(deployment["BRIDGED_CONNECTIONS_PATH"]).keys()
    forced = connect(deployment, "gamma", servers["gamma"], "wrong-secret-MARKER", "--force", outputs=outputs)
    assert forced.returncode == 0 and "untested" in forced.stdout

    everyone = cli(deployment, "sync", "--all", "--parallel", "3", outputs=outputs)
    assert everyone.returncode == 1, everyone.stdout + everyone.stderr
    lines = {line.split(":")[0]: line for line in everyone.stdout.splitlines() if ":" in line}
    assert "synced" in lines.get("acme", "") and "synced" in lines.get("beta", "") and "gamma" in lines, everyone.stdout
    assert "FAILED" in lines["gamma"] and "Auth0 rejected the client credentials" in lines["gamma"]
    # the fix for a connected tenant, and no Python module path in front of the cause
    assert "`bridged-auth0 connect KEY" in lines["gamma"] and "bridged_auth0_pipeline." not in lines["gamma"], lines["gamma"]
    assert everyone.stdout.strip().splitlines()[-1] == "2 of 3 tenants synced, 1 failed."

    warehouses = Path(deployment["BRIDGED_WAREHOUSE_DIR"])
    assert_warehouse_equals_tenant(warehouses / "acme.duckdb", acme)
    assert_warehouse_equals_tenant(warehouses / "beta.duckdb", beta)
    for key, other in (("acme", "beta.example"), ("beta", "acme.example")):
        assert query(warehouses / f"{key}.duckdb", "SELECT count(*) FROM auth0.users WHERE email LIKE ?", [f"%@{other}"]) == [(0,)]
        assert query(warehouses / f"{key}.duckdb", "SELECT count(*) FROM playbooks.qualification WHERE email LIKE ?", [f"%@{other}"]) == [(0,)]

    listing = cli(deployment, "tenants", outputs=outputs)
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    assert "success" in rows["acme"] and "failure" in rows["gamma"] and "untested" in rows["gamma"]

    # Disconnect removes the connection and the partition; reconnecting with the right secret works.
    gone = cli(deployment, "disconnect", "gamma", "--purge", outputs=outputs)
    assert gone.returncode == 0 and not (warehouses / "gamma.duckdb").exists()
    with instance_at(deployment["DAGSTER_HOME"]) as instance:
        assert sorted(instance.get_dynamic_partitions("tenants")) == ["acme", "beta"]
    assert connect(deployment, "gamma", servers["gamma"], "gamma-secret-MARKER", outputs=outputs).returncode == 0
    again = cli(deployment, "sync", "--tenant", "gamma", outputs=outputs)
    assert again.returncode == 0, again.stdout[-3000:]
    # The checks are counted from the run process's own lines, which reach the follower before it exits.
    assert re.search(r"^checks: [1-9]\d* passed, 0 failed\.$", again.stdout, re.MULTILINE), again.stdout[-3000:]
    assert_warehouse_equals_tenant(warehouses / "gamma.duckdb", gamma)

    # Rotate to a new key: every secret re-encrypted, the old key can go; a secret under a key
    # that is gone fails with the fix.
    old_key = deployment["BRIDGED_SECRET_KEY"]
    rotated = {**deployment, "BRIDGED_SECRET_KEY": f"{Fernet.generate_key().decode()},{old_key}"}
    assert "Re-encrypted 3 stored secret(s)" in cli(rotated, "rotate-key", outputs=outputs).stdout
    new_only = {**deployment, "BRIDGED_SECRET_KEY": rotated["BRIDGED_SECRET_KEY"].split(",")[0]}
    assert cli(new_only, "test", "acme", outputs=outputs).returncode == 0
    lost = cli(deployment, "test", "acme", outputs=outputs)
    assert lost.returncode == 2 and "opens with no key in BRIDGED_SECRET_KEY" in lost.stderr and "rotate-key" in lost.stderr

    # Secret scan: the registry holds ciphertext only; no secret or issued token anywhere on disk or in output.
    secrets = {f"{key}-secret-MARKER" for key in servers} | {"wrong-secret-MARKER"}
    tokens = {token for server in servers.values() for token in server._issuer.issued_tokens()}
    assert len(tokens) >= 6
    stored = sqlite3.connect(deployment["BRIDGED_CONNECTIONS_PATH"]).execute("SELECT key, secret_encrypted FROM connections").fetchall()
    box = SecretBox.from_env(new_only)
    assert {box.decrypt(ciphertext, owner=key) for key, ciphertext in stored} == {f"{k}-secret-MARKER" for k in servers}
    haystack = [Path(deployment["BRIDGED_CONNECTIONS_PATH"]), *tmp_path.rglob("*")]
    for path in haystack:
        if path.is_file():
            data = path.read_bytes()
            for needle in secrets | tokens:
                assert needle.encode() not in data, f"{path} holds a secret or token"
    for text in outputs:
        for needle in secrets | tokens:
            assert needle not in text


def children(pid: int) -> dict[int, str]:
    """{child pid: command line} of `pid`, from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def started_run_process(instance: dg.DagsterInstance, sync: subprocess.Popen, deadline: float) -> tuple[str, int]:
    """(run id, pid) of the first run to start, once its step is running (Dagster's log mirror is up)."""
    while not (runs := instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))):
        assert time.monotonic() < deadline and sync.poll() is None, "no run started"
        time.sleep(0.1)
    run_id = runs[0].run_id
    while not (pids := [entry.dagster_event.pid for entry in instance.all_logs(run_id)
                        if entry.dagster_event and entry.dagster_event.is_step_start and entry.dagster_event.pid]):
        assert time.monotonic() < deadline, "the run started no step"
        time.sleep(0.1)
    return run_id, pids[0]


@pytest.mark.slow
def test_sync_all_marks_a_killed_run_failed_and_the_next_sync_completes(sandbox_factory, deployment):
    """An out-of-memory kill leaves no trace in the run: without a daemon, `sync --all` must fail it,
    or the 429 sensor and the one-run-per-tenant queue would wait on it for ever."""
    tenant = SandboxTenant.generate(users=120, seed=7)
    server = sandbox_factory(tenant, client_secret="acme-secret", export_seconds=4)  # a run that lasts
    assert connect(deployment, "acme", server, "acme-secret").returncode == 0
    sync = subprocess.Popen([CLI, "sync", "--all"], env=deployment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO_ROOT)
    with instance_at(deployment["DAGSTER_HOME"]) as instance:
        run_id, pid = started_run_process(instance, sync, time.monotonic() + 120)
        # Dagster mirrors the step's output with `tail -F` and starts a watcher that ends the tail if
        # the run dies. A kill landing between the two leaves the tail holding the output pipe; this
        # kill takes the watcher first, so it always lands there.
        deadline = time.monotonic() + 60
        while not (watchers := [p for p, command in children(pid).items() if "watch_orphans" in command]):
            assert time.monotonic() < deadline, f"no log mirror watcher under the run: {children(pid)}"
            time.sleep(0.1)
        for watcher in watchers:
            os.kill(watcher, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)  # the run's own process, as the kernel's out-of-memory killer would
        output, _ = sync.communicate(timeout=120)
        assert sync.returncode == 1, output
        line = next(line for line in output.splitlines() if line.startswith("acme:"))
        assert "FAILED" in line and "killed by SIGKILL, so its run is marked failed" in line and "Fix:" in line, output
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    leftovers = [p for p, command in children(1).items() if run_id in command]
    assert not leftovers, f"processes the killed run left running: {leftovers}"

    again = cli(deployment, "sync", "--all")
    assert again.returncode == 0 and "acme: synced" in again.stdout, again.stdout
    # Each run reports its peak memory: what a worker, or a Kubernetes Job's memory request, needs.
    peak = re.search(r"^acme: synced in .*, peak memory (\d+) MB\) into ", again.stdout, re.MULTILINE)
    assert peak and 50 < int(peak[1]) < 2000, again.stdout
    assert_warehouse_equals_tenant(Path(deployment["BRIDGED_WAREHOUSE_DIR"]) / "acme.duckdb", tenant)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_interrupts_the_running_syncs_and_says_so(sandbox_factory, deployment, signum):
    """Each run leads its own process group (so what it leaves behind can be ended with it), so the
    terminal's Ctrl-C, or a SIGTERM from `timeout` or a supervisor, reaches only `sync`, which must
    pass it on."""
    server = sandbox_factory(SandboxTenant.generate(users=120, seed=8), client_secret="beta-secret", export_seconds=30)
    assert connect(deployment, "beta", server, "beta-secret").returncode == 0
    # As a terminal starts it: SIGINT at its default (a test runner in the background may ignore it,
    # and the ignoring would pass to `sync` and its runs).
    as_in_a_terminal = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
    sync = subprocess.Popen([sys.executable, "-c", as_in_a_terminal, CLI, "sync", "--all"], env=deployment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT)
    with instance_at(deployment["DAGSTER_HOME"]) as instance:
        run_id, _ = started_run_process(instance, sync, time.monotonic() + 120)
        sync.send_signal(signum)
        output, _ = sync.communicate(timeout=60)  # long before the 30-second export job is done
        assert sync.returncode == 130, output
        assert re.search(r"^beta: FAILED in .*: interrupted \(Ctrl-C\)\. Fix: sync again", output, re.MULTILINE), output
        assert output.strip().splitlines()[-1].startswith("Interrupted: 1 of 1 tenants started, 1 of them failed"), output
        assert instance.get_run_by_id(run_id).status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


def test_two_tenants_get_exactly_their_own_settings(sandbox_factory, pipeline_env, monkeypatch, tmp_path):
    """Frequency (schedule ticks), data objects (requests made, tables filled) and user filter, per tenant."""
    from bridged_auth0_pipeline.definitions import build_definitions
    from bridged_auth0_pipeline.orchestration.jobs import tenant_tags

    hourly = sandbox_factory(SandboxTenant.generate(users=60, seed=31), client_secret="hourly-secret")
    daily = sandbox_factory(SandboxTenant.generate(users=50, seed=32), client_secret="daily-secret")
    pipeline_env(hourly)
    for name in ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"):  # no environment tenant here
        monkeypatch.delenv(name)
    monkeypatch.setenv("BRIDGED_SECRET_KEY", Fernet.generate_key().decode())
    settings = SyncSettings.from_env()
    registry, box = ConnectionRegistry(settings.connections_path), SecretBox.from_env()
    admins = next(role for role in hourly.tenant.roles.values() if hourly.tenant.role_members[role["id"]])
    choices = {
        "hourly": SyncSettings().with_choices({"frequency": "hourly", "data_objects": "users",
                                               "user_filter": f"role:{admins['name']}"}).choices(),
        "daily": SyncSettings().with_choices({"frequency": "daily"}).choices(),
    }
    for key, server in (("hourly", hourly), ("daily", daily)):
        registry.put(key, domain=server.base_url, client_id=server.client_id, audience=None, method="client_credentials",
                     secret_encrypted=box.encrypt(server.client_secret), settings=choices[key], token_expires_at=None,
                     test_result="ok")

    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def(AUTH0_SYNC_SCHEDULE)
    job = defs.resolve_job_def("auth0_sync")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", ["hourly", "daily"])

        def due(at: datetime) -> dict[str, dg.RunRequest]:
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=at) as context:
                return {request.partition_key: request for request in schedule.evaluate_tick(context).run_requests}

        day = datetime(2026, 1, 6, tzinfo=timezone.utc)
        window = [day + timedelta(hours=2, minutes=50 + m) for m in range(90)]  # 02:50 to 04:19 UTC, each minute
        requested = [(at, due(at)) for at in window]
        ticks = {key: [at for at, requests in requested if key in requests] for key in ("hourly", "daily")}
        assert ticks["hourly"] == [day + timedelta(hours=h, minutes=jitter_minutes("hourly")) for h in (3, 4)]
        assert ticks["daily"] == [day + timedelta(hours=3, minutes=jitter_minutes("daily"))]

        for key, at in (("hourly", ticks["hourly"][0]), ("daily", ticks["daily"][0])):
            request = due(at)[key]
            assert request.tags.items() >= tenant_tags(key).items() and request.run_key == f"{key}@{at.isoformat(timespec='minutes')}"
            result = job.execute_in_process(instance=instance, partition_key=key, tags=request.tags,
                                            asset_selection=list(request.asset_selection))
            assert result.success

    warehouses = Path(settings.warehouse_dir)
    # logins are not its data object: the log is read from its newest event on, for deletions only
    assert [r.query.get("sort") for r in hourly.requests if r.path.startswith("/api/v2/logs") and "from" not in r.query] == [
        "date:-1"]
    assert [r for r in daily.requests if r.path.startswith("/api/v2/logs")]
    assert query(warehouses / "hourly.duckdb", "SELECT count(*) FROM auth0.login_events") == [(0,)]
    assert query(warehouses / "daily.duckdb", "SELECT count(*) > 0 FROM auth0.login_events") == [(True,)]
    members = set(hourly.tenant.role_members[admins["id"]])
    kept = {user_id for (user_id,) in query(warehouses / "hourly.duckdb", "SELECT user_id FROM auth0.users WHERE filtered_out_at IS NULL")}
    assert kept == members
    assert query(warehouses / "daily.duckdb", "SELECT count(*) FROM auth0.users WHERE filtered_out_at IS NULL") == [(50,)]
    assert not Path(settings.duckdb_path).exists(), "no tenant wrote the environment tenant's file"


def test_a_failing_tenant_is_rerun_alone_after_its_reset(sandbox_factory, pipeline_env, monkeypatch):
    """The 429 sensor decides per tenant: only the tenant that hit the limit gets its partition re-run."""
    from bridged_auth0_pipeline.definitions import build_definitions
    from bridged_auth0_pipeline.orchestration.jobs import tenant_tags
    from bridged_auth0_pipeline.orchestration.sensors import RATE_LIMIT_RERUN_SENSOR

    limited = sandbox_factory(SandboxTenant.generate(users=30, seed=41), faults=Faults(always_429=True, reset_in_seconds=1))
    fine = sandbox_factory(SandboxTenant.generate(users=30, seed=42))
    pipeline_env(fine, BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS="0")
    monkeypatch.setenv("BRIDGED_SECRET_KEY", Fernet.generate_key().decode())
    settings = SyncSettings.from_env()
    registry, box = ConnectionRegistry(settings.connections_path), SecretBox.from_env()
    registry.put("limited", domain=limited.base_url, client_id=limited.client_id, audience=None,
                 method="client_credentials", secret_encrypted=box.encrypt(limited.client_secret),
                 settings=SyncSettings().choices(), token_expires_at=None, test_result="ok")
    defs = build_definitions(settings)
    job = defs.resolve_job_def("auth0_sync")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", ["limited"])  # as auth0_tenants_sensor does
        failed = job.execute_in_process(instance=instance, partition_key="limited", tags=tenant_tags("limited"),
                                        raise_on_error=False)
        assert not failed.success
        assert job.execute_in_process(instance=instance, tags=tenant_tags("default")).success
        time.sleep(2.2)  # past the 1-second reset (whole seconds, rounded up)
        sensor = defs.resolve_sensor_def(RATE_LIMIT_RERUN_SENSOR)
        with dg.build_sensor_context(instance=instance, sensor_name=RATE_LIMIT_RERUN_SENSOR, definitions=defs) as context:
            result = sensor(context)
    (request,) = result.run_requests
    assert request.partition_key == "limited" and request.tags["bridged/tenant"] == "limited"
    assert request.tags["dagster/parent_run_id"] == failed.run_id


def test_management_token_method_and_its_expiry(sandbox_factory, deployment):
    server = sandbox_factory(SandboxTenant.generate(users=30, seed=51), token_ttl_seconds=3 * 86400)
    token = httpx.post(f"{server.base_url}/oauth/token", json={
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret,
        "audience": server.audience}).json()["access_token"]
    done = cli(deployment, "connect", "pasted", "--domain", server.base_url, "--method", "management_token", secret=token)
    assert done.returncode == 0, done.stderr
    synced = cli(deployment, "sync", "--tenant", "pasted")
    assert synced.returncode == 0, synced.stdout[-3000:]
    assert "/oauth/token" not in [r.path for r in server.requests[1:]], "a pasted token is never exchanged for another"
    with instance_at(deployment["DAGSTER_HOME"]) as instance:
        (run,) = instance.get_runs(dg.RunsFilter(tags={"bridged/tenant": "pasted"}))
        records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
        checks = {data.check_name: data for data in
                  (record.event_log_entry.dagster_event.asset_check_evaluation_data for record in records)}
    assert not checks["management_token_expiry"].passed, "3 days left: the check warns 7 days ahead"
    assert checks["management_token_expiry"].severity == dg.AssetCheckSeverity.WARN

    short = sandbox_factory(SandboxTenant.generate(users=10, seed=52), token_ttl_seconds=1)
    short_token = httpx.post(f"{short.base_url}/oauth/token", json={
        "grant_type": "client_credentials", "client_id": short.client_id, "client_secret": short.client_secret,
        "audience": short.audience}).json()["access_token"]
    assert cli(deployment, "connect", "short", "--domain", short.base_url, "--method", "management_token", "--force",
               secret=short_token).returncode == 0
    time.sleep(2)
    before = len(short.requests)
    expired = cli(deployment, "sync", "--tenant", "short")
    assert expired.returncode == 1
    last = expired.stdout.strip().splitlines()[-1]
    assert "token expired at" in last and "bridged-auth0 connect short --method management_token" in last
    assert len(short.requests) == before, "an expired token fails before any request"


def test_connect_refuses_a_secret_on_the_command_line_and_explains_keys(deployment, sandbox_factory):
    server = sandbox_factory()
    no_key = {k: v for k, v in deployment.items() if k != "BRIDGED_SECRET_KEY"}
    refused = connect(no_key, "acme", server, "x")
    assert refused.returncode == 2 and "BRIDGED_SECRET_KEY is not set" in refused.stderr and "bridged-auth0 keygen" in refused.stderr
    unknown = cli(deployment, "connect", "acme", "--domain", server.base_url, "--client-id", "c", "--client-secret", "x")
    assert unknown.returncode == 2 and "unrecognized arguments" in unknown.stderr
    empty = connect(deployment, "acme", server, "")
    assert empty.returncode == 2 and "No client secret was given" in empty.stderr
    bad_key = connect(deployment, "Acme_Corp", server, "x")
    assert bad_key.returncode == 2 and "Tenant key 'Acme_Corp' is not valid" in bad_key.stderr
    # --force stores a connection that cannot be tested now, never a malformed one; nor echoes a password.
    with_password = cli(deployment, "connect", "acme", "--domain", "https://ops:hunter2@acme.us.auth0.com",
                        "--client-id", "c", "--force", secret="x\n")
    assert with_password.returncode == 2 and "--domain='https://***@acme.us.auth0.com'" in with_password.stderr
    assert "hunter2" not in with_password.stdout + with_password.stderr
    assert "acme" not in cli(deployment, "tenants").stdout, "nothing was stored"
    assert connect(deployment, "acme", server, server.client_secret).returncode == 0
    wrong = cli(deployment, "settings", "acme", "--user-filter", "vip")
    assert wrong.returncode == 2 and "--user-filter='vip' is not valid. Allowed values: all, active" in wrong.stderr
    shown = cli(deployment, "settings", "acme", "--frequency", "weekly", "--include-metadata", "no")
    assert shown.returncode == 0 and "weekly" in shown.stdout and "include_metadata  no" in shown.stdout


@pytest.mark.slow
def test_a_connected_tenants_failure_names_its_own_setting(deployment, sandbox_factory):
    """The role filter of a connected tenant is its `settings`, not the deployment's BRIDGED_USER_FILTER:
    the cause says which, and reads without Python's class path (dg.Failure's is noise)."""
    server = sandbox_factory(SandboxTenant.generate(users=20, seed=64))
    assert connect(deployment, "acme", server, server.client_secret).returncode == 0
    assert cli(deployment, "settings", "acme", "--user-filter", "role:no-such-role").returncode == 0
    failed = cli(deployment, "sync", "--tenant", "acme")
    assert failed.returncode == 1, failed.stdout[-3000:]
    cause = failed.stdout.strip().splitlines()[-1]
    assert re.match(r"acme: FAILED in [\d.]+ s \(run [^)]*\): `bridged-auth0 settings acme --user-filter` names roles that "
                    r"do not exist in the tenant: no-such-role\. Fix: use role names from Auth0 Dashboard", cause), cause
    assert "BRIDGED_USER_FILTER" not in cause and "Failure" not in cause


OLD_REGISTRY = """CREATE TABLE connections (key TEXT PRIMARY KEY, domain TEXT NOT NULL, client_id TEXT, audience TEXT,
    method TEXT NOT NULL, secret_encrypted TEXT NOT NULL, settings TEXT NOT NULL, token_expires_at TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_test_at TEXT, last_test_result TEXT)"""


def test_connect_counts_active_users_and_an_older_registry_gains_the_column(deployment, sandbox_factory):
    """`sync --all` orders first syncs by the active users `connect` counted (read:stats, optional)."""
    path = deployment["BRIDGED_CONNECTIONS_PATH"]
    with sqlite3.connect(path) as old:  # a registry written before the column existed
        old.execute(OLD_REGISTRY)
        old.execute("INSERT INTO connections VALUES ('older', 'o.example', 'c', NULL, 'client_credentials', 'gAAAA-x', "
                    "'{}', NULL, '2026-01-01', '2026-01-01', NULL, 'ok')")
    assert [(c.key, c.active_users) for c in ConnectionRegistry(path).all()] == [("older", None)]

    tenant = SandboxTenant.demo(users=200)
    since = (tenant.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    active = sum(1 for user in tenant.users.values() if (user.get("last_login") or "") >= since)
    assert 0 < active < 200
    counted = sandbox_factory(tenant, scopes=DEFAULT_SCOPES + ("read:stats",))
    done = connect(deployment, "counted", counted, counted.client_secret)
    assert done.returncode == 0 and f"{active} active users in the last 30 days" in done.stdout, done.stdout + done.stderr
    uncounted = sandbox_factory(tenant)
    done = connect(deployment, "uncounted", uncounted, uncounted.client_secret)
    assert done.returncode == 0 and "active users not counted (optional: grant read:stats" in done.stdout
    stored = {c.key: c.active_users for c in ConnectionRegistry(path).all()}
    assert stored == {"counted": active, "older": None, "uncounted": None}
    listing = cli(deployment, "tenants").stdout.splitlines()
    column = listing[0].index("ACTIVE USERS")
    shown = {line.split()[0]: line[column:].split()[0] for line in listing[1:]}
    assert shown["counted"] == str(active) and shown["uncounted"] == "—"


WRITER = """
import sys
from bridged_auth0_pipeline.config.registry import ConnectionRegistry
registry, prefix = ConnectionRegistry(sys.argv[1]), sys.argv[2]
for i in range(60):
    registry.put(f"{prefix}{i % 7}", domain="t.example", client_id="c", audience=None, method="client_credentials",
                 secret_encrypted="gAAAA-ciphertext", settings={"frequency": "daily"}, token_expires_at=None,
                 test_result="ok")
    registry.update_settings(f"{prefix}{i % 7}", {"frequency": "hourly"})
    if i % 5 == 4:
        registry.delete(f"{prefix}{i % 7}")
print("writer done")
"""
READER = """
import sys
from bridged_auth0_pipeline.config.registry import ConnectionRegistry
registry = ConnectionRegistry(sys.argv[1])
seen = 0
for _ in range(300):
    seen += len(registry.all())
print("reader done", seen)
"""


def test_the_registry_takes_a_writer_beside_readers_in_other_processes(tmp_path):
    path = str(tmp_path / "connections.db")
    # Each writer has its own tenants: one deleting a key between the other's put and update would be
    # a race of the test's own making ("not connected"), not a locking failure.
    processes = [subprocess.Popen([sys.executable, "-c", code, path, prefix], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT)
                 for code, prefix in ((WRITER, "a"), (WRITER, "b"), (READER, ""), (READER, ""), (READER, ""))]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 5, outputs
    assert not any("locked" in output for output in outputs)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _put_when_released(path: str, key: str, start) -> None:
    start.wait()
    ConnectionRegistry(path).put(key, domain="d.example", client_id="c", audience=None, method="client_credentials",
                                 secret_encrypted="ciphertext", settings={}, token_expires_at=None, test_result="ok")


def test_writers_that_create_the_registry_together_all_succeed(tmp_path):
    # Tenants connected together (a script, CI) race to create the file and switch it to WAL; SQLite
    # answers the loser's switch with "database is locked" at once. Unfixed, 3 writers lost 11 % of puts.
    context = multiprocessing.get_context("fork")
    for trial in range(40):
        path = str(tmp_path / f"connections-{trial}.db")
        start = context.Barrier(3)
        workers = [context.Process(target=_put_when_released, args=(path, f"t{n}", start)) for n in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [worker.exitcode for worker in workers] == [0, 0, 0], f"trial {trial}"
        assert ConnectionRegistry(path).keys() == ["t0", "t1", "t2"]


def test_jitter_spreads_tenants_over_ten_minutes_and_keeps_default_exact():
    counts = [0] * 10
    for i in range(500):
        counts[jitter_minutes(f"customer-{i}")] += 1
    assert jitter_minutes("default") == 0
    assert min(counts) >= 30, counts  # 500 hourly tenants: no minute holds more than a fair share plus noise
    # Derived from the key alone: the daemon, the UI and each run are separate processes with their own
    # string-hash seeds, and must all agree on a tenant's minute. Fixed values (the key's SHA-256) here,
    # and the same 100 keys in two processes with other PYTHONHASHSEEDs.
    assert [jitter_minutes(key) for key in ("acme", "globex", "initech")] == [7, 5, 8]
    keys = [f"customer-{i}" for i in range(100)]
    here = [jitter_minutes(key) for key in keys]
    code = ("import json, sys; from bridged_auth0_pipeline.orchestration.schedules import jitter_minutes; "
            "print(json.dumps([jitter_minutes(key) for key in json.loads(sys.argv[1])]))")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code, json.dumps(keys)], env={**os.environ, "PYTHONHASHSEED": seed},
                             cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
        assert json.loads(out) == here, f"PYTHONHASHSEED={seed}"


def test_settings_errors_name_the_cli_flag():
    with pytest.raises(SettingsError, match=r"--active-days='0' is not valid"):
        SyncSettings().with_choices({"active_days": "0"}, label=lambda variable: "--active-days")


def test_a_new_tenant_gets_only_the_data_objects_the_deployment_syncs(deployment, sandbox_factory):
    """A deployment without log events: a customer who did not grant read:logs connects, and the new
    tenant's data objects are the defaults the deployment syncs, never one it does not."""
    env = {**deployment, "BRIDGED_DATA_OBJECTS": "users,user_metadata"}
    server = sandbox_factory(SandboxTenant.demo(users=20),
                             scopes=tuple(scope for scope in DEFAULT_SCOPES if scope != "read:logs"))
    done = connect(env, "nologs", server, server.client_secret)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reads of users, roles, role members;" in done.stdout
    stored = ConnectionRegistry(deployment["BRIDGED_CONNECTIONS_PATH"]).get("nologs").settings
    assert stored["data_objects"] == "users,user_metadata"
