"""The 429 re-run sensor: a sync that failed on Auth0RateLimitError comes back by itself.

A plain sensor over the run history rather than a run-failure sensor, because the re-run must
wait for the rate-limit reset the error carries: each tick looks at the latest auth0_sync run and
either requests the re-run (run_key = parent run id, so it is requested once) or says why not.
"""

import re
from collections.abc import Iterator
from datetime import datetime, timezone

import dagster as dg
from dagster import DagsterEventType, DagsterRunStatus

from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC, WAREHOUSE_WRITER_TAG
from bridged_auth0_pipeline.orchestration.settings import SyncSettings

RATE_LIMIT_RERUN_SENSOR = "auth0_rate_limit_rerun_sensor"
RATE_LIMIT_ERROR = "Auth0RateLimitError"
ATTEMPT_TAG = "bridged/rate_limit_rerun_attempt"
RESET_AT_TAG = "bridged/rate_limit_reset_at"
_RESET_AT = re.compile(r"reset_at=(\S+?Z)")
IN_PROGRESS = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def _error_chain(error) -> Iterator:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.cause or error.context


def rate_limit_reset(instance: dg.DagsterInstance, run_id: str) -> datetime | None:
    """The reset time of the Auth0RateLimitError that failed the run, or None if that was not the cause."""
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        failure = record.event_log_entry.dagster_event.step_failure_data
        for error in _error_chain(failure.error if failure else None):
            if error.cls_name == RATE_LIMIT_ERROR or f"{RATE_LIMIT_ERROR}:" in (error.message or ""):
                match = _RESET_AT.search(error.message or "")
                return datetime.fromisoformat(match.group(1).replace("Z", "+00:00")) if match else datetime.now(timezone.utc)
    return None


def unfinished_assets(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetKey]:
    """Assets the run planned but did not materialize: the ones that failed or never ran."""

    def keys(event_type) -> set[dg.AssetKey]:
        return {
            record.event_log_entry.dagster_event.asset_key
            for record in instance.get_records_for_run(run_id, of_type=event_type).records
        }

    return sorted(keys(DagsterEventType.ASSET_MATERIALIZATION_PLANNED) - keys(DagsterEventType.ASSET_MATERIALIZATION), key=str)


def evaluate_rerun(context: dg.SensorEvaluationContext, max_reruns: int):
    instance = context.instance
    if instance.get_runs(dg.RunsFilter(job_name=AUTH0_SYNC, statuses=IN_PROGRESS), limit=1):
        return dg.SkipReason("An auth0_sync run is in progress; never start a second writer.")
    latest = instance.get_runs(dg.RunsFilter(job_name=AUTH0_SYNC), limit=1)
    if not latest or latest[0].status != DagsterRunStatus.FAILURE:
        return dg.SkipReason("The latest auth0_sync run did not fail.")
    run = latest[0]
    reset_at = rate_limit_reset(instance, run.run_id)
    if reset_at is None:
        return dg.SkipReason(f"Run {run.run_id} failed for another reason than {RATE_LIMIT_ERROR}; left alone.")
    attempt = int(run.tags.get(ATTEMPT_TAG, "0")) + 1
    root_run_id = run.tags.get("dagster/root_run_id", run.run_id)
    if attempt > max_reruns:
        return dg.SkipReason(
            f"Run {run.run_id} hit the rate limit, but root run {root_run_id} already had {max_reruns} re-runs "
            "(BRIDGED_RATE_LIMIT_MAX_RERUNS)."
        )
    now = datetime.now(timezone.utc)
    if now < reset_at:
        return dg.SkipReason(f"Run {run.run_id} hit the rate limit; waiting until its reset at {reset_at.isoformat()}.")
    assets = unfinished_assets(instance, run.run_id)
    if not assets:
        return dg.SkipReason(f"Run {run.run_id} failed on the rate limit but left no asset unfinished.")
    return dg.RunRequest(
        run_key=f"rate-limit-rerun:{run.run_id}",
        job_name=AUTH0_SYNC,
        asset_selection=assets,
        tags={
            **WAREHOUSE_WRITER_TAG,
            "dagster/parent_run_id": run.run_id,
            "dagster/root_run_id": root_run_id,
            ATTEMPT_TAG: str(attempt),
            RESET_AT_TAG: reset_at.isoformat(),
        },
    )


def build_rate_limit_rerun_sensor(settings: SyncSettings) -> dg.SensorDefinition:
    @dg.sensor(
        name=RATE_LIMIT_RERUN_SENSOR,
        job_name=AUTH0_SYNC,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Re-runs the unfinished assets of an auth0_sync run that failed on HTTP 429 "
        f"(Auth0RateLimitError), after the rate-limit reset; at most {settings.max_reruns} times per root run.",
    )
    def auth0_rate_limit_rerun_sensor(context: dg.SensorEvaluationContext):
        return evaluate_rerun(context, settings.max_reruns)

    return auth0_rate_limit_rerun_sensor
