"""The production shape in deploy/: the instance config on a real PostgreSQL, loaded by Dagster's own
loader; runs queued and launched by a real `dagster-daemon`; a run worker killed without a word."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from cryptography.fernet import Fernet

from bridged_auth0_pipeline.sandbox import Faults, SandboxTenant
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT, pipeline_process_env
from bridged_auth0_pipeline_tests.orchestration.partitioned_assets import CHECK, loaded, planned_events, staged
from bridged_auth0_pipeline_tests.postgres_fixtures import (  # noqa: F401 (fixtures)
    PostgresServer,
    postgres_db,
    postgres_server,
    postgres_url,
)
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_warehouse_equals_tenant

DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent
TENANT_TAG = "bridged/tenant"


def deploy_instance_config(**run_monitoring) -> dict:
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    config["run_monitoring"].update(run_monitoring)
    return config


def make_dagster_home(path: Path, config: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text(yaml.safe_dump(config))
    return path


# --- the instance config, loaded by Dagster against the real server ------------------------------------


@pytest.fixture
def deploy_instance(tmp_path, monkeypatch, postgres_server: PostgresServer, postgres_db: str) -> Iterator[dg.DagsterInstance]:
    home = make_dagster_home(tmp_path / "dagster_home", deploy_instance_config())
    for name, value in {**postgres_server.dagster_env(postgres_db), "DAGSTER_MAX_CONCURRENT_RUNS": "7",
                        "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_instance_keeps_runs_events_and_schedules_in_postgres(deploy_instance, postgres_server, postgres_db):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    instance = deploy_instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)

    @dg.op
    def noop():
        return 1

    @dg.job(tags={TENANT_TAG: "acme"})
    def probe():
        noop()

    result = probe.execute_in_process(instance=instance)
    assert result.success
    # Another instance, another connection: the run and its events are in the database, not in memory.
    with dg.DagsterInstance.get() as reader:
        stored = reader.get_run_by_id(result.run_id)
        assert stored is not None and stored.status == dg.DagsterRunStatus.SUCCESS
        assert stored.tags[TENANT_TAG] == "acme"
        assert any(r.dagster_event and r.dagster_event.event_type == dg.DagsterEventType.RUN_SUCCESS
                   for r in reader.all_logs(result.run_id))

    import psycopg2

    with psycopg2.connect(postgres_server.url(postgres_db)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs WHERE run_id = %s", [result.run_id])
        assert cursor.fetchone()[0] == 1
    connection.close()


def test_instance_queues_runs_one_per_tenant(deploy_instance):
    from dagster._core.run_coordinator import QueuedRunCoordinator

    coordinator = deploy_instance.run_coordinator
    assert isinstance(coordinator, QueuedRunCoordinator)
    queue = deploy_instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 7  # from DAGSTER_MAX_CONCURRENT_RUNS
    assert {"key": TENANT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in queue.tag_concurrency_limits
    assert {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in queue.tag_concurrency_limits
    assert deploy_instance.run_monitoring_enabled
    assert deploy_instance.run_monitoring_max_runtime_seconds > 0
    assert not deploy_instance.run_retries_enabled


def test_connection_settings_come_from_the_environment_only():
    config = deploy_instance_config()
    connections = [config[storage]["config"]["postgres_db"] for storage in ("run_storage", "event_log_storage", "schedule_storage")]
    assert connections[0] == connections[1] == connections[2]  # one database for all three
    assert {name: value for name, value in connections[0].items() if name != "scheme"} == {
        "hostname": {"env": "DAGSTER_PG_HOST"}, "port": {"env": "DAGSTER_PG_PORT"}, "username": {"env": "DAGSTER_PG_USER"},
        "password": {"env": "DAGSTER_PG_PASSWORD"}, "db_name": {"env": "DAGSTER_PG_DB"}}


def test_a_run_keeps_its_postgres_connections_instead_of_one_per_statement(deploy_instance, postgres_server, postgres_db):
    """Dagster's own classes connect once per statement (a forked backend and a SCRAM exchange each)."""
    from bridged_auth0_pipeline.orchestration.instance.postgres import (
        PooledPostgresEventLogStorage,
        PooledPostgresRunStorage,
    )

    assert isinstance(deploy_instance.event_log_storage, PooledPostgresEventLogStorage)
    assert isinstance(deploy_instance.run_storage, PooledPostgresRunStorage)

    @dg.op
    def chatty(context):
        for i in range(20):
            context.log.info(f"line {i}")

    @dg.job
    def probe():
        chatty()

    def sessions() -> int:
        import psycopg2

        with psycopg2.connect(postgres_server.url(postgres_db)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [postgres_db])
            count = cursor.fetchone()[0]
        connection.close()
        return count

    probe.execute_in_process(instance=deploy_instance)  # the pools' first connections
    before = sessions()
    result = probe.execute_in_process(instance=deploy_instance)
    opened = sessions() - before - 1  # less the counting connection itself
    assert result.success
    # ~35 events and run updates: Dagster's own classes opened one session for each (measured: 48).
    assert opened <= 3, f"{opened} new sessions for one small run"


def test_a_planned_batch_that_fails_midway_leaves_nothing_for_dagsters_retry_to_double(deploy_instance, monkeypatch):
    """A new run's planned events reach Postgres as one batch in one transaction: when one fails,
    Dagster stores the batch again event by event, so a batch stored in part would be stored twice."""
    from bridged_auth0_pipeline.orchestration.instance.postgres import PooledPostgresEventLogStorage

    failures, batches = [], []
    real_check_event = PooledPostgresEventLogStorage.store_asset_check_event
    real_batch = PooledPostgresEventLogStorage.store_event_batch

    def fails_once(self, event, event_id):
        if not failures:  # the first check event: its planned one, in the batch
            failures.append(event.dagster_event_type)
            raise RuntimeError("connection reset")
        return real_check_event(self, event, event_id)

    monkeypatch.setattr(PooledPostgresEventLogStorage, "store_asset_check_event", fails_once)
    monkeypatch.setattr(PooledPostgresEventLogStorage, "store_event_batch",
                        lambda self, events: (batches.append(len(events)), real_batch(self, events))[1])
    result = dg.materialize([staged, loaded], instance=deploy_instance, partition_key="acme")
    assert result.success and failures and batches == [3]
    assert len(planned_events(deploy_instance, result.run_id)) == 3  # two assets and a check, each once
    assert len(deploy_instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=5)) == 1


def test_missing_connection_variable_fails_naming_it(tmp_path, monkeypatch, postgres_server, postgres_db):
    home = make_dagster_home(tmp_path / "dagster_home", deploy_instance_config())
    for name, value in {**postgres_server.dagster_env(postgres_db), "DAGSTER_MAX_CONCURRENT_RUNS": "7",
                        "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(Exception, match="DAGSTER_PG_PASSWORD"):
        with dg.DagsterInstance.get():
            pass


# --- the Helm values and the image -------------------------------------------------------------------

CHART_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "deploy" / "dagster-helm-values.schema.json"


def _offline(schema):
    """The schema as Helm applies it here. Helm checks values after merging them over the chart's own
    values.yaml, which supplies every `required` key; we do not ship that file, so only `required`
    under an if/then (the config a chosen type needs) is kept. The $ref to Kubernetes' own schemas
    (kubernetesjsonschema.dev) cannot be fetched here: the chart's own constraints beside them stay."""
    if isinstance(schema, dict):
        return {key: value if key == "then" else _offline(value) for key, value in schema.items()
                if key != "required" and not (key == "$ref" and value.startswith("https://"))}
    if isinstance(schema, list):
        return [_offline(item) for item in schema]
    return schema


def helm_values_errors(values: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(_offline(json.loads(CHART_SCHEMA.read_text())))
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(values)]


def test_helm_values_match_the_charts_schema():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert helm_values_errors(values) == []
    # The check bites: a misspelt key and a wrong type are refused.
    typo = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    typo["runLauncher"]["config"]["k8sRunLauncher"]["envSecret"] = []
    typo["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["maxConcurrentRuns"] = "ten"
    assert len(helm_values_errors(typo)) == 2


def test_helm_values_say_what_deploy_dagster_yaml_says():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    instance = deploy_instance_config()
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert queue["tagConcurrencyLimits"] == instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] and not values["dagsterDaemon"]["runRetries"]["enabled"]
    assert values["telemetry"] == instance["telemetry"] == {"enabled": False}
    # The pipeline's INFO lines reach run logs in every shape, as with ./dagster.yaml.
    root = yaml.safe_load((DEPLOY.parent / "dagster.yaml").read_text())
    loggers = root["python_logs"]["managed_python_loggers"]
    assert values["pythonLogs"]["managedPythonLoggers"] == instance["python_logs"]["managed_python_loggers"] == loggers
    assert "postgresqlPassword" not in json.dumps(values["dagster-user-deployments"])


def test_image_installs_the_deploy_extra_without_dev_tools():
    import tomllib

    lines = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if not line.startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")  # continuation lines
    instructions = [line.split(None, 1) for line in joined.splitlines() if line.strip()]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    installs = [args for verb, args in instructions if verb == "RUN" and "pip install" in args]
    assert len(installs) == 1 and '".[deploy]"' in installs[0] and "dev" not in installs[0]
    users = [args for verb, args in instructions if verb == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {requirement.split(">")[0] for requirement in extras["deploy"]} == {"dagster-postgres", "dagster-k8s"}
    # The SQL ships inside the package (test_packaging): a regular install carries it.
    assert ["COPY", "bridged_auth0_pipeline ./bridged_auth0_pipeline"] in instructions
    assert not any("--editable" in args for args in installs)


# --- the daemon: queued runs launched the way production runs them -------------------------------------


def job_execute_command(tenant: str, **tags: str) -> list[str]:
    """`dagster job execute`: the run in this process, not through the queue, tagged with the tenant."""
    return [str(BIN / "dagster"), "job", "execute", "-m", "bridged_auth0_pipeline.definitions", "-j", "auth0_sync",
            "--tags", json.dumps({TENANT_TAG: tenant, **tags})]


# `dagster job launch` for several runs with one code server: what the CLI does for each run
# (dagster/_cli/job.py execute_launch_command), the workspace loaded once instead of once a run
# (six launches took 84 s on this machine, this 29 s). Each run is created from the code location
# and submitted to the instance's run coordinator: the queue.
LAUNCH_RUNS = """
import json
import sys

import dagster as dg
from dagster._cli.job import _create_run
from dagster._cli.workspace.cli_target import (
    get_code_location_from_workspace,
    get_remote_job_from_remote_repo,
    get_remote_repository_from_code_location,
    get_workspace_from_cli_opts,
)
from dagster_shared.cli import WorkspaceOpts

with dg.DagsterInstance.get() as instance, get_workspace_from_cli_opts(
    instance, version=dg.__version__, workspace_opts=WorkspaceOpts(module_name=["bridged_auth0_pipeline.definitions"]),
) as workspace:
    location = get_code_location_from_workspace(workspace, None)
    repository = get_remote_repository_from_code_location(location, None)
    job = get_remote_job_from_remote_repo(repository, "auth0_sync")
    for tags in json.loads(sys.argv[1]):
        run = _create_run(instance=instance, code_location=location, remote_repo=repository, remote_job=job,
                          run_config={}, tags=tags, op_selection=None, run_id=None)
        instance.submit_run(run.run_id, workspace)
        print(run.run_id, json.dumps(tags), flush=True)
"""


class Daemon:
    """`dagster-daemon run` against a Postgres-backed DAGSTER_HOME, loading the real definitions."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.log = open(log_path, "w")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-m", "bridged_auth0_pipeline.definitions"],
            env=self.env, cwd=REPO_ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def submit(self, *tenants: str) -> None:
        """Queue one run per tenant named, as `dagster job launch` does, the daemon dequeues and starts them.
        A connected tenant's run names its partition; the `default` tenant's has none."""
        tags = [{TENANT_TAG: key, **({} if key == "default" else {"dagster/partition": key})} for key in tenants]
        done = subprocess.run([sys.executable, "-c", LAUNCH_RUNS, json.dumps(tags)], env=self.env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=180)
        queued = [line for line in done.stdout.splitlines() if TENANT_TAG in line]
        assert done.returncode == 0 and len(queued) == len(tenants), done.stdout[-3000:] + done.stderr[-3000:]

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def production(tmp_path, monkeypatch, postgres_server, postgres_db):
    """A daemon on deploy/dagster.yaml (with faster polling) for a sandbox; yields (instance, daemon, env)."""
    daemons: list[Daemon] = []
    instances: list[dg.DagsterInstance] = []

    def start(server, warehouse: Path, start_daemon: bool = True, **run_monitoring) -> tuple[dg.DagsterInstance, Daemon, dict[str, str]]:
        # Seconds, not the production 30: the tests wait on what the daemon notices.
        config = deploy_instance_config(poll_interval_seconds=1, **run_monitoring)
        config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
        home = make_dagster_home(tmp_path / "dagster_home", config)
        dagster_env = {**postgres_server.dagster_env(postgres_db), "DAGSTER_MAX_CONCURRENT_RUNS": "2",
                       "DAGSTER_HOME": str(home)}
        for name, value in dagster_env.items():
            monkeypatch.setenv(name, value)
        env = {**pipeline_process_env(server, warehouse), **dagster_env, "BRIDGED_WAREHOUSE_DIR": str(tmp_path / "tenants"),
               "BRIDGED_SECRET_KEY": Fernet.generate_key().decode()}
        daemons.append(Daemon(env, tmp_path / "daemon.log"))
        if start_daemon:
            daemons[-1].start()
        instances.append(dg.DagsterInstance.get())
        return instances[-1], daemons[-1], env

    yield start
    for daemon in daemons:
        daemon.stop()
    for instance in instances:
        instance.dispose()


def wait_for(condition, timeout: float, what: str, daemon: Daemon | None = None):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n"
                                 + (daemon.output()[-4000:] if daemon else ""))
        time.sleep(0.5)
    return value


def runs(instance: dg.DagsterInstance) -> list:
    return list(instance.get_run_records(filters=dg.RunsFilter(job_name="auth0_sync"), ascending=True))


def wait_until_finished(instance, count: int, daemon: Daemon) -> list:
    return wait_for(lambda: len(records := runs(instance)) == count and all(r.dagster_run.is_finished for r in records)
                    and records, timeout=300, what=f"{count} runs to finish", daemon=daemon)


def started_run(instance, daemon: Daemon) -> dg.DagsterRun:
    return wait_for(lambda: next((r.dagster_run for r in runs(instance)
                                  if r.dagster_run.status == dg.DagsterRunStatus.STARTED), None),
                    timeout=120, what="a run to start", daemon=daemon)


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        # "Started process for run (pid: N).", reported by the run worker as it starts (dagster/_grpc/impl.py).
        found = re.match(r"Started process for run \(pid: (\d+)\)", (event.message or "") if event else "")
        if found:
            return int(found.group(1))
    return None


def wait_for_requests(server, count: int) -> None:
    """Until the sandbox has served `count` Management API requests in all: the kill lands mid-sync."""
    wait_for(lambda: server.management_request_count() >= count, timeout=120, what="the sync to page")


def connect(env: dict[str, str], key: str, server, secret_file: Path) -> subprocess.Popen:
    """`bridged-auth0 connect`: the tenant's secret on standard input, as an operator gives it."""
    secret_file.write_text(server.client_secret + "\n")
    with secret_file.open() as secret:
        return subprocess.Popen([str(BIN / "bridged-auth0"), "connect", key, "--domain", server.base_url,
                                 "--client-id", server.client_id], env=env, cwd=REPO_ROOT, stdin=secret,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])  # an end sorts before a start
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.slow
def test_daemon_runs_queued_tenants_at_most_m_at_once_never_two_of_one(sandbox_factory, tmp_path, production):
    tenants = {key: SandboxTenant.generate(users=80, seed=seed) for seed, key in enumerate(["acme", "beta", "gamma"], 50)}
    servers = {key: sandbox_factory(tenant, faults=Faults(latency_seconds=(0.01, 0.03))) for key, tenant in tenants.items()}
    instance, daemon, env = production(servers["acme"], tmp_path / "default.duckdb", start_daemon=False)
    for process in [connect(env, key, server, tmp_path / f"{key}.secret") for key, server in servers.items()]:
        output, _ = process.communicate(timeout=180)
        assert process.returncode == 0, output[-2000:]
    daemon.start()
    # auth0_tenants_sensor, run by the daemon, makes each connected tenant a partition (and `default`,
    # the environment's tenant).
    wait_for(lambda: set(tenants) <= set(instance.get_dynamic_partitions("tenants")), timeout=120,
             what="the tenants sensor to add the partitions", daemon=daemon)

    submitting = time.monotonic()
    # Two runs of each tenant, queued back to back: first in, first out would start both of acme's.
    daemon.submit(*(key for key in tenants for _ in range(2)))
    queued = time.monotonic()

    records = wait_until_finished(instance, 2 * len(tenants), daemon)
    print(f"queued in {queued - submitting:.1f} s, all finished {time.monotonic() - queued:.1f} s later; run wall "
          f"times {sorted(round(r.end_time - r.start_time, 1) for r in records)} s")
    assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * len(records), daemon.output()[-4000:]
    spans = {key: [(r.start_time, r.end_time) for r in records if r.dagster_run.tags[TENANT_TAG] == key] for key in tenants}
    assert all(len(tenant_spans) == 2 and most_at_once(tenant_spans) == 1 for tenant_spans in spans.values()), spans
    peak = most_at_once([span for tenant_spans in spans.values() for span in tenant_spans])
    print(f"{len(records)} runs of {len(tenants)} tenants, at most {peak} at once (limit 2)")
    assert peak == 2, f"DAGSTER_MAX_CONCURRENT_RUNS=2: expected two tenants side by side, saw {peak} at most"
    for key, tenant in tenants.items():
        assert_warehouse_equals_tenant(tmp_path / "tenants" / f"{key}.duckdb", tenant)


@pytest.mark.slow
def test_killed_run_worker_is_failed_and_the_tenants_next_run_starts(sandbox_factory, tmp_path, production):
    """OOM-killer style: SIGKILL of the run worker the daemon launched; its code server sees it exit."""
    tenant = SandboxTenant.generate(users=1500, seed=43)
    server = sandbox_factory(tenant, faults=Faults(latency_seconds=(0.1, 0.2)))
    warehouse = tmp_path / "warehouse.duckdb"
    instance, daemon, _ = production(server, warehouse)
    daemon.submit("default", "default")  # the second: the tenant's next run, queued behind the first
    first = started_run(instance, daemon)
    pid = wait_for(lambda: worker_pid(instance, first.run_id), timeout=60, what="the run worker's pid")
    wait_for_requests(server, 5)
    assert [r.dagster_run.status for r in runs(instance)] == [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.QUEUED]

    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.FAILURE,
             timeout=300, what="the killed run to be marked failed", daemon=daemon)
    print(f"killed run worker: run marked failed {time.monotonic() - killed_at:.1f} s after the SIGKILL")
    messages = [record.dagster_event.message or "" for record in instance.all_logs(first.run_id) if record.dagster_event]
    assert any("signal 9" in message or "exit code -9" in message for message in messages), messages[-5:]

    second = wait_until_finished(instance, 2, daemon)[1]
    assert second.dagster_run.status == dg.DagsterRunStatus.SUCCESS, daemon.output()[-4000:]
    assert_warehouse_equals_tenant(warehouse, tenant)


@pytest.mark.slow
def test_run_killed_with_nobody_watching_is_failed_by_run_monitoring(sandbox_factory, tmp_path, production):
    """SIGKILL of `dagster job execute` (no code server watches it): the run stays STARTED until run
    monitoring's max runtime fails it; the tenant's queued run then starts and makes the warehouse exact."""
    tenant = SandboxTenant.generate(users=1500, seed=47)
    server = sandbox_factory(tenant, faults=Faults(latency_seconds=(0.1, 0.2)))
    warehouse = tmp_path / "warehouse.duckdb"
    instance, daemon, env = production(server, warehouse)
    # Seconds: longer than killing the run and queuing the next take on a loaded machine (up to 30 s
    # seen). Production: run_monitoring.max_runtime_seconds in deploy/dagster.yaml.
    max_runtime = 60
    execute = subprocess.Popen(job_execute_command("default", **{"dagster/max_runtime": str(max_runtime)}),
                               env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    first = started_run(instance, daemon)
    wait_for_requests(server, 5)
    os.killpg(execute.pid, signal.SIGKILL)
    execute.wait(timeout=30)
    killed_at = time.monotonic()
    daemon.submit("default")  # the tenant's next run
    assert [r.dagster_run.status for r in runs(instance)] == [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.QUEUED]

    wait_for(lambda: instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.FAILURE,
             timeout=120, what="run monitoring to fail the orphaned run", daemon=daemon)
    print(f"orphaned run marked failed {time.monotonic() - killed_at:.1f} s after the SIGKILL "
          f"(max runtime {max_runtime} s from its start)")
    second = wait_until_finished(instance, 2, daemon)[1]
    assert second.dagster_run.status == dg.DagsterRunStatus.SUCCESS, daemon.output()[-4000:]
    assert_warehouse_equals_tenant(warehouse, tenant)
