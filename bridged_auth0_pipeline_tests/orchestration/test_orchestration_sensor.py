"""The 429 re-run sensor against real failed runs: auth0_sync runs over HTTP against a sandbox that
answers 429, in a persistent test instance, and the sensor is evaluated as the daemon would."""

from __future__ import annotations

import sys
import time
import uuid
from datetime import datetime, timezone

import dagster as dg
import httpx
import pytest
from dagster import DagsterRunStatus
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.error import SerializableErrorInfo, serializable_error_info_from_exc_info

from bridged_auth0_pipeline.auth0.errors import Auth0RateLimitError
from bridged_auth0_pipeline.definitions import build_definitions
from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC, tenant_tags
from bridged_auth0_pipeline.orchestration.sensors import ATTEMPT_TAG, RATE_LIMIT_RERUN_SENSOR, _for_a_person, reset_in_error
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.sandbox import Faults, RateLimit, SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_warehouse_equals_tenant

# Queued runs must say where their code lives (the daemon launches them from there).
ORIGIN = RemoteJobOrigin(
    repository_origin=RemoteRepositoryOrigin(
        code_location_origin=InProcessCodeLocationOrigin(
            loadable_target_origin=LoadableTargetOrigin(module_name="bridged_auth0_pipeline.definitions")
        ),
        repository_name="__repository__",
    ),
    job_name=AUTH0_SYNC,
)
PARENT, ROOT = "dagster/parent_run_id", "dagster/root_run_id"


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


# /api/v2/logs gets one request per 8 s; users and roles are not limited.
LOGS_RATE_LIMITED = {"logs": RateLimit(burst=1, per_second=0.125)}
LOGIN_ASSETS = {key("auth0_staging/login_events"), key("auth0/login_events")}


def job_assets() -> set[dg.AssetKey]:
    return set(build_definitions(SyncSettings.from_env()).resolve_job_def(AUTH0_SYNC).asset_layer.selected_asset_keys)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def evaluate(instance: dg.DagsterInstance):
    """One sensor tick: the sensor from the definitions built from the current environment."""
    defs = build_definitions(SyncSettings.from_env())
    sensor = defs.resolve_sensor_def(RATE_LIMIT_RERUN_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.build_sensor_context(instance=instance, sensor_name=RATE_LIMIT_RERUN_SENSOR, definitions=defs) as context:
        result = sensor(context)
    if isinstance(result, dg.SensorResult):  # the re-runs that are due, one per tenant: here only `default`
        assert len(result.run_requests) == 1, result.run_requests
        return result.run_requests[0]
    return result


def reset_from(result: dg.ExecuteInProcessResult) -> datetime:
    """The reset_at the run's Auth0RateLimitError carries (found in the step failure, as the sensor does)."""
    resets = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None:
                if error.cls_name == "Auth0RateLimitError":
                    stamp = error.message.split("reset_at=")[1].split(" ")[0].rstrip(".")
                    resets.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
                error = error.cause
    assert resets, "the run must fail with Auth0RateLimitError"
    return max(resets)


def drain_logs_bucket(server) -> None:
    """Spend the logs bucket's one token, so the pipeline's first /api/v2/logs request is a 429 whose
    reset is about 8 s ahead (far longer than BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS)."""
    token = httpx.post(f"{server.base_url}/oauth/token", json={
        "grant_type": "client_credentials", "client_id": server.client_id,
        "client_secret": server.client_secret, "audience": server.audience,
    }).json()["access_token"]
    response = httpx.get(f"{server.base_url}/api/v2/logs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["x-ratelimit-remaining"] == "0"


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()) + 0.05)


def test_a_429_failure_is_rerun_after_the_reset_with_only_the_unfinished_assets(
    sandbox_factory, pipeline_env, run_sync, warehouse_path, instance
):
    tenant = SandboxTenant.generate(users=300, seed=21)
    server = sandbox_factory(tenant, rate_limit=LOGS_RATE_LIMITED)
    pipeline_env(server, BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS="1")
    drain_logs_bucket(server)

    failed = run_sync(instance=instance, raise_on_error=False)
    assert not failed.success
    reset_at = reset_from(failed)
    assert any(r.status == 429 and r.path == "/api/v2/logs" for r in server.requests)
    # Part of the run completed (the users export needs no logs); the logins and what depends on
    # them failed or never ran.
    done = {e.asset_key for e in failed.get_asset_materialization_events()}
    unfinished = job_assets() - done
    assert key("auth0_staging/users") in done
    assert LOGIN_ASSETS | {key("auth0/users"), key("playbooks/nurture")} <= unfinished

    # Before the reset: a skip reason that says what the sensor waits for.
    assert datetime.now(timezone.utc) < reset_at, "the reset must still be ahead for this check to mean anything"
    early = evaluate(instance)
    assert isinstance(early, dg.SkipReason)
    assert reset_at.isoformat() in early.skip_message and failed.run_id in early.skip_message

    sleep_until(reset_at)
    request = evaluate(instance)
    assert isinstance(request, dg.RunRequest), request
    assert set(request.asset_selection) == unfinished
    assert request.job_name == AUTH0_SYNC
    assert request.run_key == f"rate-limit-rerun:{failed.run_id}"
    assert request.tags[PARENT] == failed.run_id
    assert request.tags[ROOT] == failed.run_id
    assert request.tags[ATTEMPT_TAG] == "1"
    assert request.tags.items() >= tenant_tags("default").items(), "the re-run queues like any run of its tenant"
    assert request.partition_key == "default"
    assert datetime.fromisoformat(request.tags["bridged/rate_limit_reset_at"]) == reset_at

    # The re-run, as the daemon would launch it, completes the warehouse; then the sensor is quiet.
    server.rate_limit = None
    rerun = run_sync(instance=instance, asset_selection=list(request.asset_selection), tags=request.tags)
    assert rerun.success
    assert {e.asset_key for e in rerun.get_asset_materialization_events()} == unfinished
    assert_warehouse_equals_tenant(warehouse_path, tenant)
    quiet = evaluate(instance)
    assert isinstance(quiet, dg.SkipReason) and "did not fail" in quiet.skip_message


def test_the_attempt_cap_holds_per_root_run(sandbox_factory, pipeline_env, run_sync, instance):
    server = sandbox_factory(SandboxTenant.generate(users=50, seed=22), faults=Faults(always_429=True, reset_in_seconds=1))
    pipeline_env(server, BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS="0.5", BRIDGED_RATE_LIMIT_MAX_RERUNS="2")

    root = run_sync(instance=instance, raise_on_error=False)
    parent, attempts = root, []
    for attempt in (1, 2):
        assert not parent.success
        sleep_until(reset_from(parent))
        request = evaluate(instance)
        assert isinstance(request, dg.RunRequest), request
        assert (request.tags[ATTEMPT_TAG], request.tags[PARENT], request.tags[ROOT]) == (str(attempt), parent.run_id, root.run_id)
        attempts.append(request)
        parent = run_sync(instance=instance, raise_on_error=False, asset_selection=list(request.asset_selection), tags=request.tags)

    assert not parent.success
    sleep_until(reset_from(parent))
    capped = evaluate(instance)
    assert isinstance(capped, dg.SkipReason)
    assert f"root run {root.run_id} already had 2 re-runs" in capped.skip_message

    # A new failure of a new root run starts its own count.
    fresh = run_sync(instance=instance, raise_on_error=False)
    sleep_until(reset_from(fresh))
    request = evaluate(instance)
    assert isinstance(request, dg.RunRequest)
    assert (request.tags[ATTEMPT_TAG], request.tags[ROOT]) == ("1", fresh.run_id)


def test_other_failures_are_left_alone(sandbox_factory, pipeline_env, run_sync, instance, monkeypatch):
    server = sandbox_factory(SandboxTenant.generate(users=50, seed=23))
    pipeline_env(server)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", "wrong-secret")
    failed = run_sync(instance=instance, raise_on_error=False)
    assert not failed.success
    errors = [e.step_failure_data.error for e in failed.all_events if e.is_step_failure]
    assert errors and all(error.cause.cls_name == "Auth0AuthenticationError" for error in errors)

    skip = evaluate(instance)
    assert isinstance(skip, dg.SkipReason)
    assert f"default: run {failed.run_id} failed for another reason than Auth0RateLimitError" in skip.skip_message


def test_never_starts_while_a_run_of_the_tenant_is_in_progress(sandbox_factory, pipeline_env, run_sync, instance):
    server = sandbox_factory(SandboxTenant.generate(users=50, seed=24), faults=Faults(always_429=True, reset_in_seconds=1))
    pipeline_env(server, BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS="0")
    failed = run_sync(instance=instance, raise_on_error=False)
    sleep_until(reset_from(failed))
    assert isinstance(evaluate(instance), dg.RunRequest), "due for a re-run, but for the run in progress"

    # e.g. the schedule's next run waiting in the queue, one that is running, one being canceled; or
    # the tenant's assets materialized from the UI (another job, tagged with the partition only)
    runs = [(AUTH0_SYNC, tenant_tags("default")), ("__ASSET_JOB", {"dagster/partition": "default"})]
    for job_name, tags in runs:
        for status in [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                       DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]:
            other = instance.add_run(
                dg.DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), status=status, tags=tags,
                              remote_job_origin=ORIGIN)
            )
            skip = evaluate(instance)
            assert isinstance(skip, dg.SkipReason) and "in progress" in skip.skip_message, (job_name, status)
            instance.delete_run(other.run_id)
    other_tenant = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()),
                                                  status=DagsterRunStatus.STARTED, tags={"dagster/partition": "acme"},
                                                  remote_job_origin=ORIGIN))
    assert isinstance(evaluate(instance), dg.RunRequest), "another tenant's run does not hold this one"
    instance.delete_run(other_tenant.run_id)


def test_an_older_failure_is_not_rerun_once_a_later_run_succeeded(sandbox_factory, pipeline_env, run_sync, warehouse_path, instance):
    server = sandbox_factory(SandboxTenant.generate(users=50, seed=25), faults=Faults(always_429=True, reset_in_seconds=1))
    pipeline_env(server, BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS="0")
    failed = run_sync(instance=instance, raise_on_error=False)
    server.faults = Faults()
    assert run_sync(instance=instance).success
    sleep_until(reset_from(failed))
    skip = evaluate(instance)
    assert isinstance(skip, dg.SkipReason) and "did not fail" in skip.skip_message
    assert query(warehouse_path, "SELECT count(*) FROM auth0.users")[0][0] == 50


def test_the_rate_limit_error_is_found_anywhere_in_the_cause_chain():
    """`raise ... from` (cause) and raising while handling (context) both keep the 429 visible."""
    reset = datetime(2026, 1, 6, 10, 30, 5, tzinfo=timezone.utc)

    def failure(wrap) -> SerializableErrorInfo:
        try:
            try:
                raise Auth0RateLimitError(reset, 1.0, 1.0, "/api/v2/users")
            except Auth0RateLimitError as error:
                wrap(error)
        except Exception:
            return serializable_error_info_from_exc_info(sys.exc_info())

    def from_cause(error):
        raise RuntimeError("export failed") from error

    def from_context(error):
        raise dg.Failure("users extraction failed")

    def deeper(error):
        try:
            from_cause(error)
        except RuntimeError as wrapped:
            raise ValueError("step failed") from wrapped

    for wrap in (from_cause, from_context, deeper):
        assert reset_in_error(failure(wrap)) == reset, wrap.__name__

    def unrelated(error):
        raise RuntimeError("boom") from None

    assert reset_in_error(failure(unrelated)) is None


def test_a_failure_cause_reads_without_pythons_module_path():
    """What `sync` prints after FAILED: the class stays for an error of ours or Python's, dg.Failure's goes."""

    def info(error: BaseException) -> SerializableErrorInfo:
        try:
            raise error
        except BaseException:
            return serializable_error_info_from_exc_info(sys.exc_info())

    reset = datetime(2026, 1, 6, 10, 30, 5, tzinfo=timezone.utc)
    ours = _for_a_person(info(Auth0RateLimitError(reset, 1.0, 1.0, "/api/v2/users")))
    assert ours.startswith("Auth0RateLimitError: Auth0 rate limit (429) on /api/v2/users") and "reset_at=" in ours
    assert _for_a_person(info(dg.Failure("Fix: sync more often."))) == "Fix: sync more often."
    assert _for_a_person(info(KeyError("id"))) == "KeyError: 'id'"
