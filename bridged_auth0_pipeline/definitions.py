"""Assembles the code location; everything it names is built elsewhere."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from bridged_auth0_pipeline.extraction.assets import staged_extraction
from bridged_auth0_pipeline.orchestration.jobs import build_sync_job
from bridged_auth0_pipeline.orchestration.resources import Auth0Resource, SyncSettingsResource
from bridged_auth0_pipeline.orchestration.schedules import build_sync_schedule
from bridged_auth0_pipeline.orchestration.sensors import build_rate_limit_rerun_sensor
from bridged_auth0_pipeline.orchestration.settings import SyncSettings
from bridged_auth0_pipeline.views.assets import playbook_views
from bridged_auth0_pipeline.warehouse.assets import login_events_table, roles_tables, user_metadata_table, users_tables
from bridged_auth0_pipeline.warehouse.checks import warehouse_checks


def build_definitions(settings: SyncSettings) -> dg.Definitions:
    sync_job = build_sync_job(settings)
    return dg.Definitions(
        assets=[
            staged_extraction,
            users_tables, user_metadata_table, login_events_table, roles_tables,
            playbook_views,
        ],
        asset_checks=[warehouse_checks],
        jobs=[sync_job],
        schedules=[build_sync_schedule(settings)],
        sensors=[build_rate_limit_rerun_sensor(settings)],
        resources={
            "auth0": Auth0Resource(
                domain=dg.EnvVar("AUTH0_DOMAIN"),
                client_id=dg.EnvVar("AUTH0_CLIENT_ID"),
                client_secret=dg.EnvVar("AUTH0_CLIENT_SECRET"),
                audience=settings.audience,
                page_size=settings.page_size,
                rate_limit_max_wait_seconds=settings.rate_limit_max_wait_seconds,
            ),
            "warehouse": DuckDBResource(database=settings.duckdb_path),
            "sync": SyncSettingsResource.from_settings(settings),
        },
        # One process writes the DuckDB file: steps run in the run's own process, one at a time.
        executor=dg.in_process_executor,
    )


defs = build_definitions(SyncSettings.from_env())
