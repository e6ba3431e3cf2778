"""The auth0_sync job: one tenant (partition) per run; the assets its data objects ask for, plus the views."""

from __future__ import annotations

import dagster as dg

from bridged_auth0_pipeline.config.registry import DEFAULT_TENANT
from bridged_auth0_pipeline.config.resources import PARTITION_TAG, TENANT_TAG, tenant_partitions
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.extraction.assets import (STAGED_CONNECTIONS, STAGED_LOGIN_EVENTS, STAGED_ORGANIZATIONS,
                                                      STAGED_ROLES, STAGED_USERS)
from bridged_auth0_pipeline.warehouse.organizations import CLIENTS, CONNECTIONS
from bridged_auth0_pipeline.views.assets import playbook_views
from bridged_auth0_pipeline.warehouse.assets import ORGANIZATION_TABLES, LOGIN_EVENTS, ROLES, USER_IDENTITIES, USER_METADATA, USER_ROLES, USERS

AUTH0_SYNC = "auth0_sync"

DATA_OBJECT_ASSETS = {
    # users reads the log too, for user deletions only when logins is off (extraction/login_events.py).
    "users": [STAGED_USERS, STAGED_ROLES, USERS, USER_IDENTITIES, ROLES, USER_ROLES, STAGED_LOGIN_EVENTS, LOGIN_EVENTS],
    "user_metadata": [USER_METADATA],
    "logins": [STAGED_LOGIN_EVENTS, LOGIN_EVENTS],
    "organizations": [STAGED_ORGANIZATIONS, *ORGANIZATION_TABLES],
}
# Connections and clients name what users' identities and log events mention: read with either.
for _name in ("users", "logins"):
    DATA_OBJECT_ASSETS[_name] += [STAGED_CONNECTIONS, CONNECTIONS, CLIENTS]


def tenant_tags(key: str) -> dict[str, str]:
    """Tags of a run of `key`: its partition, and the tenant tag the run queue limits on."""
    return {PARTITION_TAG: key, TENANT_TAG: key}


def sync_selection(settings: SyncSettings) -> dg.AssetSelection:
    keys = list(dict.fromkeys(key for name in settings.data_objects for key in DATA_OBJECT_ASSETS[name]))
    return dg.AssetSelection.assets(*keys, *playbook_views.keys)


def sync_asset_keys(settings: SyncSettings) -> set[dg.AssetKey]:
    """The keys sync_selection resolves to, without needing the asset graph (schedule and sensors use it)."""
    tables = {key for name in settings.data_objects for key in DATA_OBJECT_ASSETS[name]}
    return tables | set(playbook_views.keys)


def effective_settings(settings: SyncSettings) -> dict[str, str]:
    return {
        "default_tenant": f"{DEFAULT_TENANT} (AUTH0_DOMAIN; a run without a partition syncs it)",
        "connections_path": settings.connections_path,
        "warehouse_dir": settings.warehouse_dir,
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


def build_sync_job(settings: SyncSettings) -> dg.UnresolvedAssetJobDefinition:
    """The selection is the deployment's BRIDGED_DATA_OBJECTS (all three by default): a tenant's run
    selects its own data objects within it. Given no partition, a run syncs the tenant `default`."""
    return dg.define_asset_job(
        AUTH0_SYNC,
        selection=sync_selection(settings),
        description="Sync one Auth0 tenant (the run's partition) into its DuckDB warehouse: extraction → tables → views.",
        tags=tenant_tags(DEFAULT_TENANT),
        # A run launched for a partition from the UI (launchpad, backfill) gets that tenant's tags too;
        # without this it kept the job's `bridged/tenant: default` and escaped its tenant's queue limit.
        config=dg.PartitionedConfig(partitions_def=tenant_partitions, run_config_for_partition_key_fn=lambda _: {},
                                    tags_for_partition_key_fn=lambda key: {TENANT_TAG: key}),
        # The effective BRIDGED_* settings, shown on the job's page in the UI (none of them is secret).
        metadata=effective_settings(settings),
    )
