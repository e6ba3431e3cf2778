"""The extraction step: users, log events and roles are fetched at the same time, one thread each.

They use different Auth0 rate-limit buckets (users/export job, logs, roles), so while log pages
wait for the logs bucket, the users export streams and role members page through theirs: the
step takes as long as the slowest stream, not the sum. Each thread writes through its own DuckDB
connection and transaction (one process, so DuckDB's one-writer rule holds).
"""


import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from pathlib import Path

import dagster as dg

from bridged_auth0_pipeline.extraction import login_events, organizations, roles, users
from bridged_auth0_pipeline.extraction.common import requests_by_endpoint
from bridged_auth0_pipeline.config.assets import EXTRACTION_GROUP, EXTRACTION_KINDS, OWNERS
from bridged_auth0_pipeline.config.resources import TenantResource, tenant_partitions
from bridged_auth0_pipeline.warehouse.store.database import open_warehouse

STAGED_USERS = dg.AssetKey(["auth0_staging", "users"])
STAGED_LOGIN_EVENTS = dg.AssetKey(["auth0_staging", "login_events"])
STAGED_ROLES = dg.AssetKey(["auth0_staging", "roles"])
STAGED_ORGANIZATIONS = dg.AssetKey(["auth0_staging", "organizations"])
STAGED_CONNECTIONS = dg.AssetKey(["auth0_staging", "connections"])


def users_spool(warehouse_path: str) -> Path:
    """Where the users extraction's NDJSON waits for DuckDB's reader: beside the warehouse file."""
    return Path(f"{warehouse_path}.users-staging.ndjson")


PROGRESS_EVERY_SECONDS = 5.0


def _with_progress(log, client, future: Future):
    """The future's result; meanwhile a `progress:` line every few seconds (requests by rate-limit
    group and the pace), which `bridged-auth0 sync` shows while the streams run."""
    started, last = time.monotonic(), None
    while True:
        try:
            return future.result(timeout=PROGRESS_EVERY_SECONDS)
        except FuturesTimeout:
            stats = client.stats
            counts = ", ".join(f"{group} {count:,}" for group, count in sorted(stats.by_endpoint.items()))
            total = stats.management_requests
            if total != last:
                pace = total / max(time.monotonic() - started, 1e-9)
                log.info(f"progress: {total:,} Management API requests ({counts}), {pace:.1f} requests/s")
                last = total


def _spec(key: dg.AssetKey, description: str, deps=()) -> dg.AssetSpec:
    return dg.AssetSpec(key, description=description, deps=list(deps), group_name=EXTRACTION_GROUP, kinds=EXTRACTION_KINDS, owners=OWNERS,
                        skippable=True)


@dg.multi_asset(
    specs=[
        _spec(STAGED_USERS, users.DESCRIPTION),
        _spec(STAGED_LOGIN_EVENTS, login_events.DESCRIPTION),
        # Reads this run's login events to decide whether member lists changed.
        _spec(STAGED_ROLES, roles.DESCRIPTION, deps=[STAGED_LOGIN_EVENTS]),
        _spec(STAGED_ORGANIZATIONS, organizations.ORGANIZATIONS_DESCRIPTION, deps=[STAGED_LOGIN_EVENTS]),
        _spec(STAGED_CONNECTIONS, organizations.CONNECTIONS_DESCRIPTION),
    ],
    can_subset=True,
    partitions_def=tenant_partitions,
)
def staged_extraction(context: dg.AssetExecutionContext, tenant: TenantResource):
    selected = context.selected_asset_keys
    sync = tenant.settings
    client = tenant.get_client()
    with open_warehouse(tenant.warehouse) as con, ThreadPoolExecutor(max_workers=5, thread_name_prefix="extract") as pool:
        futures: dict[dg.AssetKey, Future] = {}

        def run(key: dg.AssetKey, extract, *args) -> None:
            def body():
                with con.cursor() as own:  # one connection (and transaction) per thread
                    return extract(context.log, client, own, *args)

            futures[key] = pool.submit(body)

        if STAGED_LOGIN_EVENTS in selected:
            run(STAGED_LOGIN_EVENTS, login_events.extract_login_events)
        if STAGED_USERS in selected:
            run(STAGED_USERS, users.extract_users, sync, users_spool(tenant.tenant.warehouse_path))
        if STAGED_ROLES in selected:
            logs = futures.get(STAGED_LOGIN_EVENTS)
            run(STAGED_ROLES, roles.extract_roles, sync, (lambda: logs.result()) if logs else (lambda: None))
        if STAGED_ORGANIZATIONS in selected:
            logs = futures.get(STAGED_LOGIN_EVENTS)
            run(STAGED_ORGANIZATIONS, organizations.extract_organizations, sync,
                (lambda: logs.result()) if logs else (lambda: None))
        if STAGED_CONNECTIONS in selected:
            run(STAGED_CONNECTIONS, organizations.extract_connections)
        errors, done = [], {}
        for key in (STAGED_LOGIN_EVENTS, STAGED_USERS, STAGED_ROLES, STAGED_ORGANIZATIONS, STAGED_CONNECTIONS):
            if key in futures:
                try:
                    done[key] = _with_progress(context.log, client, futures[key])
                except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others report
                    errors.append(exc)
        for key, metadata in done.items():  # once every stream is done: the run's requests by endpoint are final
            yield dg.MaterializeResult(asset_key=key, metadata={**metadata, **requests_by_endpoint(client)})
        if errors:
            raise errors[0]
