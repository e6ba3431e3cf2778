"""The real Dagster CLI on this repository: `dagster definitions validate -w workspace.yaml`, and
`dagster dev` from the repo root checked headless through the webserver's GraphQL API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from bridged_auth0_pipeline_tests.helpers import REPO_ROOT, SECRET, instance_at, query

DAGSTER = str(Path(sys.executable).with_name("dagster"))
LOCATION = "bridged_auth0_pipeline"
REPOSITORY = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}


def cli_env(dagster_home: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_", "DAGSTER_"))}
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").symlink_to(REPO_ROOT / "dagster.yaml")
    return {**env, "DAGSTER_HOME": str(dagster_home), **settings}


def validate(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DAGSTER, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_definitions_validate_passes_for_workspace_yaml(tmp_path):
    result = validate(cli_env(tmp_path / "dagster_home"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_definitions_validate_fails_on_an_invalid_setting_with_the_message(tmp_path):
    result = validate(cli_env(tmp_path / "dagster_home", BRIDGED_SYNC_FREQUENCY="monthly"))
    assert result.returncode != 0
    assert "BRIDGED_SYNC_FREQUENCY='monthly' is not valid. Allowed values: daily, hourly, weekly" in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(command: list[str], env: dict[str, str], log_path: Path):
    """Start a `dagster dev`-like command from the repo root; yield its base URL once it serves; kill it."""
    port = free_port()
    log = log_path.open("w")
    process = subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        # SIGINT stops it even when these tests run in the background of a non-interactive shell,
        # which hands them SIGINT ignored (and dagster dev's code servers would then outlive it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the UI did not serve /server_info within 90 s"
            time.sleep(0.5)
        yield base
    finally:
        # SIGINT lets dagster dev stop its webserver and daemon; then nothing of the group may remain
        # (its code servers outlive it otherwise).
        try:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def dagster_dev(tmp_path):
    """`dagster dev` (webserver + daemon) from the repo root with a tenant configured; killed at the end."""
    home = tmp_path / "dagster_home"
    env = cli_env(home, BRIDGED_CONNECTIONS_PATH=str(tmp_path / "connections.db"), AUTH0_CLIENT_SECRET=SECRET,
                  AUTH0_CLIENT_ID="client-id", AUTH0_DOMAIN="127.0.0.1:9",
                  BRIDGED_SYNC_FREQUENCY="weekly", BRIDGED_USER_FILTER="active", BRIDGED_RATE_LIMIT_MAX_RERUNS="2")
    with serving([DAGSTER, "dev"], env, tmp_path / "dagster_dev.log") as base:
        yield base, home, tmp_path / "dagster_dev.log"


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    assert SECRET not in response.text, "the client secret must never reach the UI"
    return body["data"]


WORKSPACE = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""

DETAILS = """query ($repo: RepositorySelector!, $job: PipelineSelector!) {
  schedulesOrError(repositorySelector: $repo) { __typename ... on Schedules { results {
    name cronSchedule executionTimezone pipelineName scheduleState { status } } } }
  sensorsOrError(repositorySelector: $repo) { __typename ... on Sensors { results {
    name sensorState { status ticks(limit: 5) { status skipReason } } } } }
  pipelineOrError(params: $job) { __typename ... on Pipeline { metadataEntries { label ... on TextMetadataEntry { text } } } }
  allTopLevelResourceDetailsOrError(repositorySelector: $repo) { __typename ... on ResourceDetailsList { results {
    name configuredValues { key value type } } } }
  instance { runQueuingSupported runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml } info }
}"""


@pytest.mark.slow
def test_dagster_dev_loads_the_code_location_with_schedule_sensor_settings_and_instance(dagster_dev):
    base, home, log = dagster_dev
    (entry,) = graphql(base, WORKSPACE)["workspaceOrError"]["locationEntries"]
    assert (entry["name"], entry["loadStatus"], entry["locationOrLoadError"]["__typename"]) == (LOCATION, "LOADED", "RepositoryLocation"), entry

    variables = {"repo": REPOSITORY, "job": {**REPOSITORY, "pipelineName": "auth0_sync"}}
    data = graphql(base, DETAILS, variables)

    (schedule,) = data["schedulesOrError"]["results"]
    assert schedule == {"name": "auth0_sync_schedule", "cronSchedule": "* * * * *", "executionTimezone": "UTC",
                        "pipelineName": "auth0_sync", "scheduleState": {"status": "RUNNING"}}
    sensors = {sensor["name"]: sensor for sensor in data["sensorsOrError"]["results"]}
    assert {name: sensor["sensorState"]["status"] for name, sensor in sensors.items()} == {
        "auth0_rate_limit_rerun_sensor": "RUNNING", "auth0_tenants_sensor": "RUNNING"}

    # The effective settings on the job's page; the secret only as the variable's name.
    shown = {entry["label"]: entry.get("text") for entry in data["pipelineOrError"]["metadataEntries"]}
    assert shown["sync_frequency"] == "weekly (0 3 * * 1 UTC)"
    assert (shown["user_filter"], shown["rate_limit_max_reruns"]) == ("active", "2")
    resources = {r["name"]: {v["key"]: (v["type"], v["value"]) for v in r["configuredValues"]}
                 for r in data["allTopLevelResourceDetailsOrError"]["results"]}
    kind, settings = resources["tenant"]["settings_json"]
    assert kind == "VALUE" and json.loads(json.loads(settings))["user_filter"] == {"kind": "active", "roles": []}

    # Instance: local storage under DAGSTER_HOME, a run queue with one auth0_sync run per tenant at a time,
    # run monitoring on, Dagster's own run retries off (the sensor re-runs after 429s).
    instance = data["instance"]
    info = yaml.safe_load(instance["info"])
    assert info["local_artifact_storage"]["config"]["base_dir"] == str(home)
    assert (info["run_storage"]["class"], info["run_coordinator"]["class"]) == ("SqliteRunStorage", "QueuedRunCoordinator")
    # The event log: Dagster's SQLite files in their default place, through the class that keeps connections.
    assert info["event_log_storage"]["class"] == "PooledSqliteEventLogStorage"
    assert info["run_storage"]["config"]["base_dir"].rstrip("/") == str(home / "history")
    assert (home / "history").is_dir()
    assert instance["runQueuingSupported"]
    assert yaml.safe_load(instance["runQueueConfig"]["tagConcurrencyLimitsYaml"]) == [
        {"key": "bridged/tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
    ]
    assert info["run_monitoring"]["enabled"] is True and info["run_retries"]["enabled"] is False

    # The daemon ticks the sensor at start-up; its decision shows in the UI as a skip reason.
    deadline = time.monotonic() + 40
    def ticks() -> list:
        sensors = graphql(base, DETAILS, variables)["sensorsOrError"]["results"]
        return next(s for s in sensors if s["name"] == "auth0_rate_limit_rerun_sensor")["sensorState"]["ticks"]

    while not (latest := ticks()):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(1)
    assert latest[0]["status"] == "SKIPPED"
    assert latest[0]["skipReason"] == "default: the latest auth0_sync run did not fail."
    assert "Traceback" not in log.read_text(), log.read_text()


LAUNCH = """mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on InvalidSubsetError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
RUN_STATUS = """query ($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""


@pytest.mark.slow
def test_make_dev_with_no_tenant_serves_the_sandbox_and_a_run_of_default_succeeds(tmp_path):
    """`make dev` from a fresh clone: no AUTH0_* and nothing connected. It serves the sandbox, the
    tenants sensor adds the `default` partition, and a run launched from the UI syncs it."""
    home = tmp_path / "dagster_home"
    env = cli_env(home, BRIDGED_CONNECTIONS_PATH=str(tmp_path / "connections.db"),
                  BRIDGED_DUCKDB_PATH=str(tmp_path / "warehouse.duckdb"))
    log = tmp_path / "make_dev.log"
    with serving([str(Path(sys.executable).with_name("bridged-auth0")), "dev"], env, log) as base:
        assert "the UI syncs the built-in sandbox tenant (1000 users)" in log.read_text()
        deadline = time.monotonic() + 90
        while True:
            with instance_at(home) as instance:
                if "default" in instance.get_dynamic_partitions("tenants"):
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(1)
        params = {"selector": {**REPOSITORY, "jobName": "auth0_sync"}, "mode": "default",
                  "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "default"},
                                                 {"key": "bridged/tenant", "value": "default"}]}}
        launched = graphql(base, LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        deadline = time.monotonic() + 180
        while (status := graphql(base, RUN_STATUS, {"id": run_id})["runOrError"]["status"]) not in ("SUCCESS", "FAILURE"):
            assert time.monotonic() < deadline, status
            time.sleep(1)
        assert status == "SUCCESS", log.read_text()[-3000:]
    assert query(tmp_path / "warehouse.duckdb", "SELECT count(*) FROM auth0.users") == [(1000,)]
