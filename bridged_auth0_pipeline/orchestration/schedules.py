"""`auth0_sync_schedule`: each tenant at its own frequency, one schedule for all of them.

It ticks every minute and requests a run for each tenant whose cron (hourly at minute 0, daily
03:00 UTC, weekly Monday 03:00 UTC) matches the tick shifted back by the tenant's jitter: 0–9
minutes derived from its key, so 500 hourly tenants do not start in the same second. The
environment's tenant `default` keeps the exact cron, as before tenants existed. One stable name:
changing a tenant's frequency changes no schedule, so Dagster keeps its state.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import dagster as dg

from bridged_auth0_pipeline.config.registry import DEFAULT_TENANT
from bridged_auth0_pipeline.config.resources import TENANTS_PARTITION
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory
from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC, sync_asset_keys, tenant_tags

AUTH0_SYNC_SCHEDULE = "auth0_sync_schedule"
EVERY_MINUTE = "* * * * *"
JITTER_MINUTES = 10


def jitter_minutes(key: str) -> int:
    if key == DEFAULT_TENANT:
        return 0
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % JITTER_MINUTES


def cron_matches(cron: str, at: datetime) -> bool:
    """Whether `at` (UTC, whole minute) is a tick of a cron made of numbers and `*` (the FREQUENCY_CRONS)."""
    minute, hour, day, month, weekday = cron.split()
    actual = (at.minute, at.hour, at.day, at.month, (at.weekday() + 1) % 7)  # cron counts weekdays from Sunday = 0
    return all(field == "*" or int(field) == value for field, value in zip((minute, hour, day, month, weekday), actual))


def is_due(key: str, settings: SyncSettings, at: datetime) -> bool:
    return cron_matches(settings.cron_schedule, at - timedelta(minutes=jitter_minutes(key)))


def due_run_requests(context: dg.ScheduleEvaluationContext, settings: SyncSettings):
    at = context.scheduled_execution_time.replace(second=0, microsecond=0)
    directory = TenantDirectory(settings)
    keys = directory.keys()
    if not keys:
        return dg.SkipReason(
            "No tenant to sync: set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET where the daemon runs, "
            "or connect one with `bridged-auth0 connect KEY --domain ... --client-id ...`."
        )
    registered = set(context.instance.get_dynamic_partitions(TENANTS_PARTITION))
    requests, waiting = [], []
    for key in keys:
        try:
            tenant = directory.tenant(key)
        except Exception as exc:  # noqa: BLE001 - one tenant's bad entry never stops the others
            context.log.warning(f"Tenant {key}: skipped, {exc}")
            continue
        if not is_due(key, tenant.settings, at):
            continue
        if key not in registered:  # auth0_tenants_sensor adds it within 30 s of `connect`
            waiting.append(key)
            continue
        requests.append(dg.RunRequest(
            run_key=f"{key}@{at.isoformat(timespec='minutes')}",
            partition_key=key,
            asset_selection=sorted(sync_asset_keys(tenant.settings) & sync_asset_keys(settings), key=str),
            tags=tenant_tags(key),
        ))
    if waiting:
        context.log.info(f"Due but not yet a partition (auth0_tenants_sensor adds them): {', '.join(waiting)}")
    return requests or dg.SkipReason(f"No tenant is due at {at.isoformat(timespec='minutes')} ({len(keys)} tenants).")


def build_sync_schedule(settings: SyncSettings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=AUTH0_SYNC_SCHEDULE,
        job_name=AUTH0_SYNC,
        cron_schedule=EVERY_MINUTE,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Runs auth0_sync for each tenant at its own frequency (hourly, daily 03:00 UTC or weekly Monday "
        f"03:00 UTC, plus 0–{JITTER_MINUTES - 1} minutes by tenant key; the environment's tenant: "
        f"{settings.sync_frequency}, BRIDGED_SYNC_FREQUENCY).",
    )
    def auth0_sync_schedule(context: dg.ScheduleEvaluationContext):
        return due_run_requests(context, settings)

    return auth0_sync_schedule
