"""Assembles the code location; everything it names is built elsewhere."""

from __future__ import annotations

import dagster as dg

from bridged_auth0_pipeline.config.resources import TenantResource
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.extraction.assets import staged_extraction
from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC, build_sync_job
from bridged_auth0_pipeline.orchestration.frozen_heap import freeze_long_lived_objects
from bridged_auth0_pipeline.orchestration.schedules import build_sync_schedule
from bridged_auth0_pipeline.orchestration.sensors import build_rate_limit_rerun_sensor, build_tenants_sensor
from bridged_auth0_pipeline.views.assets import playbook_views
from bridged_auth0_pipeline.warehouse.assets import warehouse_tables
from bridged_auth0_pipeline.warehouse.checks import warehouse_checks
from bridged_auth0_pipeline.warehouse.seed_assets import SEED_SPECS


def build_definitions(settings: SyncSettings) -> dg.Definitions:
    return dg.Definitions(
        assets=[*SEED_SPECS, staged_extraction, warehouse_tables, playbook_views],
        asset_checks=[warehouse_checks],
        jobs=[build_sync_job(settings)],
        schedules=[build_sync_schedule(settings)],
        sensors=[build_rate_limit_rerun_sensor(settings), build_tenants_sensor(settings)],
        resources={"tenant": TenantResource.for_settings(settings)},
        # One process writes a tenant's DuckDB file: steps run in the run's own process, one at a time.
        executor=dg.in_process_executor,
    )


defs = build_definitions(SyncSettings.from_env())

# Every Dagster process that loads this (a run, `dagster job execute`, the daemon's run workers)
# collects garbage without walking Dagster's objects, and ends ~0.8 s sooner: orchestration/frozen_heap.py.
freeze_long_lived_objects()


def auth0_sync_job() -> dg.JobDefinition:
    """For `dg.reconstructable`: `bridged-auth0 sync --tenant` runs this job in the instance."""
    return defs.resolve_job_def(AUTH0_SYNC)
