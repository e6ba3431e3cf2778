"""The extraction step: users, log events and roles are fetched at the same time, one thread each.

They use different Auth0 rate-limit buckets (users/export job, logs, roles), so while log pages
wait for the logs bucket, the users export streams and role members page through theirs: the
step takes as long as the slowest stream, not the sum. Each thread writes through its own DuckDB
connection and transaction (one process, so DuckDB's one-writer rule holds).
"""


import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import dagster as dg

from bridged_auth0_pipeline.extraction import login_events, organizations, roles, users
from bridged_auth0_pipeline.extraction.common import requests_by_endpoint
from bridged_auth0_pipeline.extraction.progress import Progress
from bridged_auth0_pipeline.config.assets import EXTRACTION_GROUP, EXTRACTION_KINDS, OWNERS
from bridged_auth0_pipeline.config.resources import TenantResource, tenant_partitions
from bridged_auth0_pipeline.store.database import open_warehouse

STAGED_USERS = dg.AssetKey(["auth0_staging", "users"])
STAGED_LOGIN_EVENTS = dg.AssetKey(["auth0_staging", "login_events"])
STAGED_ROLES = dg.AssetKey(["auth0_staging", "roles"])
STAGED_ORGANIZATIONS = dg.AssetKey(["auth0_staging", "organizations"])
STAGED_CONNECTIONS = dg.AssetKey(["auth0_staging", "connections"])


def users_spool(warehouse_path: str) -> Path:
    """Where the users extraction's NDJSON waits for DuckDB's reader: beside the warehouse file."""
    return Path(f"{warehouse_path}.users-staging.ndjson")


def _report_until_done(log, client, progress: Progress, futures: list[Future], every: float) -> None:
    """Wait for the streams; meanwhile, every BRIDGED_PROGRESS_EVERY_SECONDS (5 s), a `progress:` line
    per stream that moved and one for the Management API requests by rate-limit group.

    A line per stream rather than one for all: each reads alone in the Dagster UI's log, and the
    console draws one bar per stream. Work over within the first interval prints nothing; once
    lines were printed, every stream's `done:` line follows, so each stream's totals show.
    """
    started, last = time.monotonic(), None
    while True:
        pending = wait(futures, timeout=every).not_done
        if not pending and last is None:
            return
        for line in progress.report():
            log.info(f"progress: {line}")
        stats = client.stats
        total = stats.management_requests
        if total != last:
            counts = ", ".join(f"{group} {count:,}" for group, count in sorted(stats.by_endpoint.items()))
            pace = total / max(time.monotonic() - started, 1e-9)
            log.info(f"progress: requests {total:,} to the Management API ({counts}), {pace:.1f}/s")
            last = total
        if not pending:
            return


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
    progress = Progress()
    with open_warehouse(tenant.warehouse) as con, ThreadPoolExecutor(max_workers=5, thread_name_prefix="extract") as pool:
        futures: dict[dg.AssetKey, Future] = {}

        def run(key: dg.AssetKey, extract, *args) -> None:
            stream = progress.stream(key.path[-1])

            def body():
                try:
                    with con.cursor() as own:  # one connection (and transaction) per thread
                        result = extract(context.log, client, own, *args, progress=stream)
                except BaseException:
                    stream.finish("failed")
                    raise
                stream.finish()
                return result

            futures[key] = pool.submit(body)

        if STAGED_LOGIN_EVENTS in selected:
            run(STAGED_LOGIN_EVENTS, login_events.extract_login_events, sync)
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
        _report_until_done(context.log, client, progress, list(futures.values()), sync.progress_every_seconds)
        errors, done = {}, {}
        for key in (STAGED_LOGIN_EVENTS, STAGED_USERS, STAGED_ROLES, STAGED_ORGANIZATIONS, STAGED_CONNECTIONS):
            if key in futures:
                try:
                    done[key] = futures[key].result()
                except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others report
                    errors[key] = exc
        for key, metadata in done.items():  # once every stream is done: the run's requests by endpoint are final
            yield dg.MaterializeResult(asset_key=key, metadata={**metadata, **requests_by_endpoint(client)})
        if errors:
            _raise_failed(context.log, errors)


def _raise_failed(log, errors: dict[dg.AssetKey, BaseException]) -> None:
    """One failed stream's error is raised as it is. Several: each one's cause goes to the run's log
    first. A stream that waits for this run's log events fails with their error: with one cause, it
    is raised as it is; with several, an error that names the streams and ends with the first one's
    cause, the one it is raised from."""
    first = next(iter(errors.values()))
    if len(errors) == 1:
        raise first
    failed_first: dict[int, str] = {}  # each cause: the first stream that failed with it
    for key, exc in errors.items():
        name = key.path[-1]
        if id(exc) in failed_first:
            log.error(f"{name} extraction stopped: it waits for {failed_first[id(exc)]}, which failed.")
        else:
            failed_first[id(exc)] = name
            log.error(f"{name} extraction failed: {_cause(exc)}")
    if len(failed_first) == 1 or not isinstance(first, Exception):  # an interrupt stays what it is
        raise first
    names = list(failed_first.values())
    raise dg.Failure(
        f"{len(names)} extraction streams failed ({', '.join(names)}; each one's cause is in the run's log). "
        f"The first, {names[0]}: {_cause(first)}"
    ) from first


def _cause(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
