"""The sensors: the 429 re-run sensor, and the one that keeps a partition per tenant.

The 429 re-run sensor: a tenant's sync that failed on Auth0RateLimitError comes back by itself.
A plain sensor over the run history rather than a run-failure sensor, because the re-run must
wait for the rate-limit reset the error carries: each tick looks at each tenant's latest auth0_sync
run and either requests the re-run of that tenant's partition (run_key = parent run id, so it is
requested once) or says why not. One tenant's failure never holds back another's re-run.
"""

from collections.abc import Iterator
from datetime import datetime, timezone

import dagster as dg
from dagster import DagsterEventType, DagsterRunStatus

from bridged_auth0_pipeline.config.resources import PARTITION_TAG, TENANT_TAG, TENANTS_PARTITION, tenant_partitions
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory
from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC, sync_asset_keys, tenant_tags
from bridged_auth0_pipeline.auth0.errors import parse_reset

RATE_LIMIT_RERUN_SENSOR = "auth0_rate_limit_rerun_sensor"
TENANTS_SENSOR = "auth0_tenants_sensor"
RATE_LIMIT_ERROR = "Auth0RateLimitError"
ATTEMPT_TAG = "bridged/rate_limit_rerun_attempt"
RESET_AT_TAG = "bridged/rate_limit_reset_at"
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
            return parse_reset(link.message) or _utcnow()
    return None


def rate_limit_reset(instance: dg.DagsterInstance, run_id: str) -> datetime | None:
    """When the run's Auth0RateLimitError(s) reset (the latest one if several steps hit the limit),
    or None if no step failed on the rate limit."""
    resets = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        failure = record.event_log_entry.dagster_event.step_failure_data
        resets.append(reset_in_error(failure.error if failure else None))
    return max(filter(None, resets), default=None)


def failure_cause(instance: dg.DagsterInstance, run_id: str) -> str:
    """The first error of a failed run that is not Dagster's wrapper: what a person must fix."""
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        failure = record.event_log_entry.dagster_event.step_failure_data
        for link in _error_chain(failure.error if failure else None):
            if not link.cls_name.startswith("Dagster"):
                return _for_a_person(link)
    return f"see the run's logs (run {run_id})"


def _for_a_person(link) -> str:
    """The message without the exception's module path, which Python puts first
    ('bridged_auth0_pipeline.auth0.errors.Auth0AuthenticationError: …' → 'Auth0AuthenticationError: …'),
    and without the class too for dg.Failure, whose description is already written for a person."""
    message = link.message.strip()
    qualified, colon, rest = message.partition(": ")
    if not colon or qualified.rpartition(".")[2] != link.cls_name:
        return message
    return rest if link.cls_name == "Failure" else f"{link.cls_name}: {rest}"


def unfinished_assets(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetKey]:
    """Assets the run planned but did not materialize: the ones that failed or never ran."""

    def keys(event_type) -> set[dg.AssetKey]:
        return {
            record.event_log_entry.dagster_event.asset_key
            for record in instance.get_records_for_run(run_id, of_type=event_type).records
        }

    return sorted(keys(DagsterEventType.ASSET_MATERIALIZATION_PLANNED) - keys(DagsterEventType.ASSET_MATERIALIZATION), key=str)


def evaluate_rerun(context: dg.SensorEvaluationContext, settings: SyncSettings, key: str, tenant_settings: SyncSettings):
    """The re-run of tenant `key`'s latest auth0_sync run, or why there is none."""
    instance = context.instance
    max_reruns = settings.max_reruns
    runs = dg.RunsFilter(job_name=AUTH0_SYNC, tags={TENANT_TAG: key})
    # Any run of the tenant's partition writes its file: auth0_sync, or assets materialized from the UI.
    if instance.get_runs(dg.RunsFilter(tags={PARTITION_TAG: key}, statuses=IN_PROGRESS), limit=1):
        return dg.SkipReason(f"{key}: a run of this tenant is in progress; never start a second writer.")
    latest = instance.get_runs(runs, limit=1)
    if not latest or latest[0].status != DagsterRunStatus.FAILURE:
        return dg.SkipReason(f"{key}: the latest auth0_sync run did not fail.")
    run = latest[0]
    reset_at = rate_limit_reset(instance, run.run_id)
    if reset_at is None:
        return dg.SkipReason(f"{key}: run {run.run_id} failed for another reason than {RATE_LIMIT_ERROR}; left alone.")
    attempt = int(run.tags.get(ATTEMPT_TAG, "0")) + 1
    root_run_id = run.tags.get("dagster/root_run_id", run.run_id)
    if attempt > max_reruns:
        return dg.SkipReason(
            f"{key}: run {run.run_id} hit the rate limit, but root run {root_run_id} already had {max_reruns} re-runs "
            "(BRIDGED_RATE_LIMIT_MAX_RERUNS)."
        )
    if _utcnow() < reset_at:
        return dg.SkipReason(
            f"{key}: run {run.run_id} hit the rate limit; re-run attempt {attempt} of {max_reruns} waits until the reset "
            f"at {reset_at.isoformat()}."
        )
    # Only assets the tenant still syncs (its data objects may have shrunk since the failed run).
    wanted = sync_asset_keys(tenant_settings) & sync_asset_keys(settings)
    assets = [asset for asset in unfinished_assets(instance, run.run_id) if asset in wanted]
    if not assets:
        return dg.SkipReason(f"{key}: run {run.run_id} failed on the rate limit but left no asset of the job unfinished.")
    return dg.RunRequest(
        run_key=f"rate-limit-rerun:{run.run_id}",
        job_name=AUTH0_SYNC,
        partition_key=key,
        asset_selection=assets,
        tags={
            **tenant_tags(key),
            "dagster/parent_run_id": run.run_id,
            "dagster/root_run_id": root_run_id,
            ATTEMPT_TAG: str(attempt),
            RESET_AT_TAG: reset_at.isoformat(),
        },
    )


def evaluate_reruns(context: dg.SensorEvaluationContext, settings: SyncSettings):
    """One decision per tenant: the re-runs that are due, else every tenant's reason in one skip."""
    directory = TenantDirectory(settings)
    requests, reasons = [], []
    for key in directory.keys():
        try:
            decision = evaluate_rerun(context, settings, key, directory.tenant(key).settings)
        except Exception as exc:  # noqa: BLE001 - one tenant's bad entry never stops the others
            decision = dg.SkipReason(f"{key}: skipped, {exc}")
        if isinstance(decision, dg.RunRequest):
            requests.append(decision)
        else:
            reasons.append(decision.skip_message)
    if requests:
        return dg.SensorResult(run_requests=requests)
    return dg.SkipReason(" | ".join(reasons) if reasons else "No tenant is configured.")


def build_rate_limit_rerun_sensor(settings: SyncSettings) -> dg.SensorDefinition:
    @dg.sensor(
        name=RATE_LIMIT_RERUN_SENSOR,
        job_name=AUTH0_SYNC,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Re-runs the unfinished assets of a tenant's auth0_sync run that failed on HTTP 429 "
        f"(Auth0RateLimitError), after that tenant's rate-limit reset; at most {settings.max_reruns} times per root run.",
    )
    def auth0_rate_limit_rerun_sensor(context: dg.SensorEvaluationContext):
        return evaluate_reruns(context, settings)

    return auth0_rate_limit_rerun_sensor


def sync_tenant_partitions(context: dg.SensorEvaluationContext, settings: SyncSettings):
    """Partition requests that make the `tenants` partitions equal to the tenants (registry + `default`)."""
    wanted = TenantDirectory(settings).keys()
    existing = context.instance.get_dynamic_partitions(TENANTS_PARTITION)
    added = [key for key in wanted if key not in existing]
    removed = [key for key in existing if key not in wanted]
    if not added and not removed:
        return dg.SkipReason(f"The {len(wanted)} tenant partitions match the connected tenants.")
    requests = []
    if added:
        requests.append(tenant_partitions.build_add_request(added))
    if removed:
        requests.append(tenant_partitions.build_delete_request(removed))
    context.log.info(f"Tenant partitions: added {added or 'none'}, removed {removed or 'none'}")
    return dg.SensorResult(dynamic_partitions_requests=requests)


def build_tenants_sensor(settings: SyncSettings) -> dg.SensorDefinition:
    @dg.sensor(
        name=TENANTS_SENSOR,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Keeps one `tenants` partition per connected tenant (added on connect, removed on disconnect).",
    )
    def auth0_tenants_sensor(context: dg.SensorEvaluationContext):
        return sync_tenant_partitions(context, settings)

    return auth0_tenants_sensor
