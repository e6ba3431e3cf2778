"""Each sql/views/NN_<schema>__<view>.sql becomes an asset keyed [<schema>, <view>], whose deps
are the auth0.* tables and views its SQL reads — so the lineage shows tables → views."""

import re
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from bridged_auth0_pipeline.config.resources import TenantResource, tenant_partitions
from bridged_auth0_pipeline.warehouse.database import open_warehouse
from bridged_auth0_pipeline.warehouse.loads import execute_load
from bridged_auth0_pipeline.warehouse.sql_files import read_sql, sql_files
from bridged_auth0_pipeline.warehouse.transaction import transaction

GROUP = "playbook_views"
_FILE_NAME = re.compile(r"^\d+_(?P<schema>\w+?)__(?P<view>\w+)\.sql$")
_REFERENCE = re.compile(r"\b(auth0|playbooks)\.(\w+)")


def _view_key(sql_file: str) -> dg.AssetKey:
    match = _FILE_NAME.match(Path(sql_file).name)
    if match is None:
        raise ValueError(f"{sql_file}: view files are named NN_<schema>__<view>.sql")
    return dg.AssetKey([match["schema"], match["view"]])


def _first_comment(sql: str) -> str:
    lines = [line.strip("- ").strip() for line in sql.splitlines() if line.startswith("--")]
    return " ".join(lines[:3]) or "Playbook view."


def _view_spec(sql_file: str) -> dg.AssetSpec:
    key = _view_key(sql_file)
    sql = read_sql(sql_file)
    return dg.AssetSpec(
        key,
        deps=sorted({dg.AssetKey([schema, name]) for schema, name in _REFERENCE.findall(sql)} - {key}, key=str),
        group_name=GROUP,
        kinds={"duckdb", "sql"},
        owners=["team:data"],
        description=_first_comment(sql),
        metadata={"sql_file": f"bridged_auth0_pipeline/sql/{sql_file}"},
        skippable=True,
    )


VIEW_FILES = {_view_key(sql_file): sql_file for sql_file in sql_files("views")}


@dg.multi_asset(specs=[_view_spec(sql_file) for sql_file in VIEW_FILES.values()], can_subset=True,
                partitions_def=tenant_partitions)
def playbook_views(context: dg.AssetExecutionContext, tenant: TenantResource):
    """Every view, in file order (later views read earlier ones), in one step and one transaction:
    readers never see some views of a new definition beside others of the old."""
    selected = {key: sql_file for key, sql_file in VIEW_FILES.items() if key in context.selected_asset_keys}
    with open_warehouse(tenant.warehouse) as con:
        with transaction(con):
            for sql_file in selected.values():
                execute_load(con, sql_file, synced_at=datetime.now(timezone.utc))
        for key in selected:
            # No row count: a view is computed when queried (and these depend on the clock), and counting
            # one at 1M users would run the whole query inside the sync's DuckDB memory limit.
            columns = con.execute(f"DESCRIBE {'.'.join(key.path)}").fetchall()
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind, *_ in columns]),
                    "dagster/table_name": ".".join(key.path),
                },
            )
