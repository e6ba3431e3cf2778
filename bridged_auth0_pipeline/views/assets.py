"""Each sql/views/NN_<schema>__<view>.sql becomes an asset keyed [<schema>, <view>], in its schema's
group, whose deps are the auth0.* tables and views its SQL reads — so the lineage shows tables → views.
Each view reports its row count, and each view with one row per user two checks, from one pass."""

import re
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from bridged_auth0_pipeline.config.assets import OWNERS, VIEW_GROUPS, VIEW_KINDS
from bridged_auth0_pipeline.config.resources import TenantResource, tenant_partitions
from bridged_auth0_pipeline.store.database import open_warehouse
from bridged_auth0_pipeline.store.loads import execute_load
from bridged_auth0_pipeline.warehouse.metadata import table_definition
from bridged_auth0_pipeline.store.sql_files import read_sql, sql_files
from bridged_auth0_pipeline.store.transaction import transaction

_FILE_NAME = re.compile(r"^\d+_(?P<schema>\w+?)__(?P<view>\w+)\.sql$")
_REFERENCE = re.compile(r"\b(auth0|playbooks)\.(\w+)")


def _view_key(sql_file: str) -> dg.AssetKey:
    match = _FILE_NAME.match(Path(sql_file).name)
    if match is None or match["schema"] not in VIEW_GROUPS:
        raise ValueError(f"{sql_file}: view files are named NN_<schema>__<view>.sql, schema one of {sorted(VIEW_GROUPS)}")
    return dg.AssetKey([match["schema"], match["view"]])


def header_description(sql: str) -> str:
    """The whole comment block above the view's first statement, as markdown: its text lines form
    paragraphs, and its indented lines (the view's enumerations) a list, continuation lines joined."""
    lines: list[str] = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        text = line[2:].removeprefix(" ")
        if not text.startswith(" "):
            lines.append(text.strip())
        elif lines and lines[-1].startswith("- ") and len(text) - len(text.lstrip()) > 4:
            lines[-1] += " " + text.strip()   # continues the item above (aligned under its text)
        else:  # "  term    explanation": the explanation column starts after two or more spaces
            term, _, explanation = text.strip().partition("  ")
            lines.append(f"- **{term}**" + (f" — {' '.join(explanation.split())}" if explanation.strip() else ""))
    # A list needs a blank line before it, and text after a list a blank line too, or markdown merges them.
    blocks = [lines[0]] if lines else []
    for previous, line in zip(lines, lines[1:]):
        blocks.append(("\n" if previous.startswith("- ") != line.startswith("- ") else "") + line)
    return "\n".join(blocks) or "Warehouse view."


def _view_spec(sql_file: str) -> dg.AssetSpec:
    key = _view_key(sql_file)
    sql = read_sql(sql_file)
    return dg.AssetSpec(
        key,
        # auth0._* tables (sync state, rejected records) are the pipeline's bookkeeping, not assets
        deps=sorted({dg.AssetKey([schema, name]) for schema, name in _REFERENCE.findall(sql)
                     if not name.startswith("_")} - {key}, key=str),
        group_name=VIEW_GROUPS[key.path[0]],
        kinds=VIEW_KINDS,
        owners=OWNERS,
        description=header_description(sql),
        metadata={**table_definition(".".join(key.path)), "sql_file": f"bridged_auth0_pipeline/sql/{sql_file}"},
        skippable=True,
    )


VIEW_FILES = {_view_key(sql_file): sql_file for sql_file in sql_files("views")}

# Every view but auth0.login_events_enriched (a row per log event) has one row per user and leaves out
# deleted, linked-away and filtered-out users.
VIEW_CHECKS = {
    "one_row_per_user": "One row per user: user_id is unique.",
    "only_live_users": "No deleted, linked-away or filtered-out user (every user_id is live in auth0.users).",
}
USER_VIEWS = [view for view in VIEW_FILES if view.path != ["auth0", "login_events_enriched"]]
# One pass over a view gives its row count and both checks' violations (a view is computed when
# queried). At 100k users a count and a separate check pass took 1.4 s and 1.1 s for the five views.
USER_VIEW_FIGURES = """
    SELECT count(*) AS row_count,
           count(*) - count(DISTINCT v.user_id) AS one_row_per_user,
           count(*) FILTER (WHERE live.user_id IS NULL) AS only_live_users
    FROM {view} v LEFT JOIN (SELECT user_id FROM auth0.users
                             WHERE deleted_at IS NULL AND linked_to_user_id IS NULL AND filtered_out_at IS NULL) live
         USING (user_id)"""


def view_figures(con, view: dg.AssetKey) -> dict[str, int]:
    """The view's rows as of now and, for a view of users, each check's violations."""
    name = ".".join(view.path)
    if view not in USER_VIEWS:
        return {"row_count": con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]}
    cursor = con.execute(USER_VIEW_FIGURES.format(view=name))
    return dict(zip([column for column, *_ in cursor.description], cursor.fetchone()))


def view_check_results(view: dg.AssetKey, figures: dict[str, int], selected) -> list[dg.AssetCheckResult]:
    return [dg.AssetCheckResult(asset_key=view, check_name=name, passed=figures[name] == 0,
                                metadata={"violations": figures[name]})
            for name in VIEW_CHECKS if dg.AssetCheckKey(view, name) in selected]


@dg.multi_asset(specs=[_view_spec(sql_file) for sql_file in VIEW_FILES.values()],
                check_specs=[dg.AssetCheckSpec(name, asset=view, description=description)
                             for view in USER_VIEWS for name, description in VIEW_CHECKS.items()],
                can_subset=True, partitions_def=tenant_partitions)
def playbook_views(context: dg.AssetExecutionContext, tenant: TenantResource):
    """Every view, in file order (later views read earlier ones), in one step and one transaction:
    readers never see some views of a new definition beside others of the old."""
    selected = {key: sql_file for key, sql_file in VIEW_FILES.items() if key in context.selected_asset_keys}
    checks = context.selected_asset_check_keys
    # The UI can run a view's checks alone ("Execute" on a check): they read the view as it stands.
    checked_only = [view for view in USER_VIEWS if view not in selected and any(k.asset_key == view for k in checks)]
    with open_warehouse(tenant.warehouse) as con:
        with transaction(con):
            for sql_file in selected.values():
                execute_load(con, sql_file, synced_at=datetime.now(timezone.utc))
        for key in selected:
            figures = view_figures(con, key)
            yield dg.MaterializeResult(
                asset_key=key,
                # as of this run: the views depend on the clock
                metadata={"dagster/row_count": figures["row_count"]},
                check_results=view_check_results(key, figures, checks),
            )
        for view in checked_only:
            yield from view_check_results(view, view_figures(con, view), checks)
