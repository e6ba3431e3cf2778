"""Two partitioned assets and a check, shaped like auth0_sync's (a partition per tenant), for the
instance storage tests, and the planned events a run of them stores."""

from __future__ import annotations

import dagster as dg

tenants_like = dg.StaticPartitionsDefinition(["acme", "beta"])
PLANNED = (dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED)
CHECK = dg.AssetCheckKey(dg.AssetKey("loaded"), "ok")


@dg.asset(partitions_def=tenants_like)
def staged():
    return 1


@dg.asset(partitions_def=tenants_like, deps=[staged], check_specs=[dg.AssetCheckSpec("ok", asset="loaded")])
def loaded():
    yield dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=True)])


def planned_events(instance: dg.DagsterInstance, run_id: str) -> list[dg.DagsterEventType]:
    return [entry.dagster_event.event_type for entry in instance.all_logs(run_id)
            if entry.dagster_event and entry.dagster_event.event_type in PLANNED]
