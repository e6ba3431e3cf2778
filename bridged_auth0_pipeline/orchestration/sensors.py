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

from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC, WAREHOUSE_WRITER_TAG, sync_asset_keys
from bridged_auth0_pipeline.orchestration.settings import SyncSettings

RATE_LIMIT_RERUN_SENSOR = "auth0_rate_limit_rerun_sensor"
RATE_LIMIT_ERROR = "Auth0RateLimitError"
ATTEMPT_TAG = "bridged/rate_limit_rerun_attempt"
RESET_AT_TAG = "bridged/rate_limit_reset_at"
_RESET_AT = re.compile(r"reset_at=(\S+?Z)")
# Every status in which a run may still write the warehouse (a canceling run still holds the file).
IN_PROGRESS = [
    DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING,
]


def _error_chain(error) -> Iterator:
    """The error and everything it wraps: both `cause` (raise ... from) and `context` (raised while handling)."""
    pending, seen = [error], set()
    while pending:
        error = pending.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        pending += [error.cause, error.context]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def reset_in_error(error) -> datetime | None:
    """The reset_at of an Auth0RateLimitError anywhere in a SerializableErrorInfo's chain, else None."""
    for link in _error_chain(error):
        if link.cls_name == RATE_LIMIT_ERROR or f"{RATE_LIMIT_ERROR}:" in (link.message or ""):
            match = _RESET_AT.search(link.message or "")
            return datetime.fromisoformat(match.group(1).replace("Z", "+00:00")) if match else _utcnow()
    return None


def rate_limit_reset(instance: dg.DagsterInstance, run_id: str) -> datetime | None:
    """When the run's Auth0RateLimitError(s) reset (the latest one if several steps hit the limit),
    or None if no step failed on the rate limit."""
    resets = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        failure = record.event_log_entry.dagster_event.step_failure_data
        resets.append(reset_in_error(failure.error if failure else None))
    return max(filter(None, resets), default=None)


def unfinished_assets(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetKey]:
    """Assets the run planned but did not materialize: the ones that failed or never ran."""

    def keys(event_type) -> set[dg.AssetKey]:
        return {
            record.event_log_entry.dagster_event.asset_key
            for record in instance.get_records_for_run(run_id, of_type=event_type).records
        }

    return sorted(keys(DagsterEventType.ASSET_MATERIALIZATION_PLANNED) - keys(DagsterEventType.ASSET_MATERIALIZATION), key=str)


def evaluate_rerun(context: dg.SensorEvaluationContext, settings: SyncSettings):
    instance = context.instance
    max_reruns = settings.max_reruns
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
    if _utcnow() < reset_at:
        return dg.SkipReason(
            f"Run {run.run_id} hit the rate limit; re-run attempt {attempt} of {max_reruns} waits until the reset "
            f"at {reset_at.isoformat()}."
        )
    # Only assets the job still has (BRIDGED_DATA_OBJECTS may have shrunk since the failed run).
    in_job = sync_asset_keys(settings)
    assets = [key for key in unfinished_assets(instance, run.run_id) if key in in_job]
    if not assets:
        return dg.SkipReason(f"Run {run.run_id} failed on the rate limit but left no asset of the job unfinished.")
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
        return evaluate_rerun(context, settings)

    return auth0_rate_limit_rerun_sensor
