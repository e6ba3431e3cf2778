"""One schedule, one stable name: BRIDGED_SYNC_FREQUENCY only changes its cron, so Dagster keeps
its state (ticks, running status) when the frequency changes."""

from __future__ import annotations

import dagster as dg

from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC
from bridged_auth0_pipeline.orchestration.settings import SyncSettings

AUTH0_SYNC_SCHEDULE = "auth0_sync_schedule"


def build_sync_schedule(settings: SyncSettings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=AUTH0_SYNC_SCHEDULE,
        job_name=AUTH0_SYNC,
        cron_schedule=settings.cron_schedule,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs auth0_sync {settings.sync_frequency} (BRIDGED_SYNC_FREQUENCY).",
    )
