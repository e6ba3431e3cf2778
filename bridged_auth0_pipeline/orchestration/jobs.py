"""The auth0_sync job: the assets BRIDGED_DATA_OBJECTS asks for, plus the views over them."""

from __future__ import annotations

import dagster as dg

from bridged_auth0_pipeline.orchestration.settings import SyncSettings
from bridged_auth0_pipeline.views.assets import GROUP as VIEWS_GROUP
from bridged_auth0_pipeline.views.assets import playbook_views

AUTH0_SYNC = "auth0_sync"
# Runs with this tag queue behind each other (dagster.yaml tag_concurrency_limits): DuckDB
# accepts one writing process per file.
WAREHOUSE_WRITER_TAG = {"bridged/warehouse-writer": "duckdb"}

DATA_OBJECT_ASSETS = {
    "users": [
        ["auth0_staging", "users"], ["auth0_staging", "roles"],
        ["auth0", "users"], ["auth0", "user_identities"], ["auth0", "roles"], ["auth0", "user_roles"],
    ],
    "user_metadata": [["auth0", "user_metadata"]],
    "logins": [["auth0_staging", "login_events"], ["auth0", "login_events"]],
}


def sync_selection(settings: SyncSettings) -> dg.AssetSelection:
    keys = [dg.AssetKey(path) for name in settings.data_objects for path in DATA_OBJECT_ASSETS[name]]
    return dg.AssetSelection.assets(*keys) | dg.AssetSelection.groups(VIEWS_GROUP)


def effective_settings(settings: SyncSettings) -> dict[str, str]:
    return {
        "sync_frequency": f"{settings.sync_frequency} ({settings.cron_schedule} UTC)",
        "data_objects": ",".join(settings.data_objects),
        "user_filter": str(settings.user_filter),
        "active_days": str(settings.active_days),
        "include_metadata": "yes" if settings.include_metadata else "no",
        "page_size": str(settings.page_size),
        "rate_limit_max_wait_seconds": f"{settings.rate_limit_max_wait_seconds:g}",
        "rate_limit_max_reruns": str(settings.max_reruns),
        "full_sync_every_days": str(settings.full_sync_every_days),
    }


def sync_asset_keys(settings: SyncSettings) -> set[dg.AssetKey]:
    """The keys sync_selection resolves to, without needing the asset graph (the sensor uses it)."""
    tables = {dg.AssetKey(path) for name in settings.data_objects for path in DATA_OBJECT_ASSETS[name]}
    return tables | set(playbook_views.keys)


def build_sync_job(settings: SyncSettings) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        AUTH0_SYNC,
        selection=sync_selection(settings),
        description="Sync the Auth0 tenant into the DuckDB warehouse: extraction → tables → playbook views.",
        tags=WAREHOUSE_WRITER_TAG,
        # The effective BRIDGED_* settings, shown on the job's page in the UI (none of them is secret).
        metadata=effective_settings(settings),
    )
