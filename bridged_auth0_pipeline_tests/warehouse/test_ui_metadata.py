"""What the Dagster UI shows about the data: groups by layer, whole view descriptions, view row
counts and checks, and numbers per run that the UI plots (the described column schemas, which the
asset definitions carry: test_ui_column_schema.py)."""

from __future__ import annotations

import dagster as dg
import duckdb

from bridged_auth0_pipeline.config.assets import VIEW_GROUPS
from bridged_auth0_pipeline.definitions import build_definitions
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.views.assets import (USER_VIEWS, VIEW_CHECKS, VIEW_FILES, playbook_views,
                                                 view_check_results, view_figures)
from bridged_auth0_pipeline.store.sql_files import read_sql
from bridged_auth0_pipeline_tests.helpers import query


def test_groups_tell_staging_from_warehouse_from_views(pipeline_env, sandbox_factory):
    pipeline_env(sandbox_factory())
    graph = build_definitions(SyncSettings.from_env()).resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["auth0_staging/users"] == "extraction"
    assert groups["auth0/users"] == "warehouse"
    assert groups["auth0/user_auth_methods"] == groups["auth0/account_link_candidates"] == "auth0_views"
    assert groups["playbooks/nurture"] == "playbooks"
    for view in VIEW_FILES:
        assert groups[view.to_user_string()] == VIEW_GROUPS[view.path[0]]


def test_view_descriptions_are_the_whole_header_comment():
    for view, sql_file in VIEW_FILES.items():
        header = [line for line in read_sql(sql_file).split("CREATE", 1)[0].splitlines() if line.startswith("--")]
        description = playbook_views.specs_by_key[view].description
        assert len(header) > 3
        last_words = " ".join(header[-1].removeprefix("--").split()[-4:])
        assert description.rstrip().endswith(last_words), (view, description)
    nurture = playbook_views.specs_by_key[dg.AssetKey(["playbooks", "nurture"])].description
    assert "- **dormant** — last login longer ago" in nurture


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {name: value.value for name, value in event.materialization.metadata.items()}


def test_materializations_carry_counts_previews_and_view_checks(sandbox_factory, pipeline_env, run_sync,
                                                                     warehouse_path):
    tenant = SandboxTenant.generate(users=300, seed=5)
    pipeline_env(sandbox_factory(tenant))
    first = run_sync()
    users = _metadata(first, "auth0/users")
    live = query(warehouse_path, "SELECT count(*) FROM auth0.users WHERE deleted_at IS NULL")[0][0]
    assert (users["users_new"], users["users_updated"], users["users_total"]) == (300, 0, live)
    assert _metadata(first, "auth0/login_events")["login_events_added"] == \
        query(warehouse_path, "SELECT count(*) FROM auth0.login_events")[0][0] > 0

    user_ids = sorted(tenant.users)
    for user_id in user_ids[:5]:
        tenant.update_user(user_id, name=f"renamed {user_id}")
    for i in range(3):
        tenant.add_user({"email": f"new{i}@example.com", "email_verified": True})
    for user_id in user_ids[200:202]:
        tenant.delete_user(user_id)
    second = run_sync()
    users = _metadata(second, "auth0/users")
    assert (users["users_new"], users["users_updated"], users["users_deleted"]) == (3, 5, 2)
    assert users["users_total"] == live + 3 - 2
    staged = _metadata(second, "auth0_staging/users")
    by_endpoint = {name: value for name, value in staged.items() if name.startswith("auth0/requests/")}
    assert by_endpoint and all(isinstance(count, int) and count > 0 for count in by_endpoint.values())
    assert isinstance(staged["auth0/seconds_waited_on_429"], float)

    # The columns are on the definitions (test_ui_column_schema.py), not stored again by every run;
    # tables show their first rows, views their row count.
    for key in ("auth0/users", "auth0/login_events", "playbooks/nurture"):
        assert not {"dagster/column_schema", "dagster/table_name"} & set(_metadata(second, key)), key
    assert "| user_id | email |" in _metadata(second, "auth0/users")["preview"]
    for view in VIEW_FILES:
        table = ".".join(view.path)
        assert _metadata(second, view.to_user_string())["dagster/row_count"] == \
            query(warehouse_path, f"SELECT count(*) FROM {table}")[0][0]
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in second.get_asset_check_evaluations()}
    assert {(view.to_user_string(), name) for view in USER_VIEWS for name in VIEW_CHECKS} <= set(checks)
    assert all(checks.values()), checks


def test_view_checks_fail_on_a_duplicate_and_on_a_user_who_is_not_live(sandbox_factory, pipeline_env, run_sync,
                                                                        warehouse_path):
    pipeline_env(sandbox_factory())
    run_sync()
    with duckdb.connect(str(warehouse_path)) as con:
        # a broken view: every user (filtered-out ones too), one of them twice
        con.execute("CREATE OR REPLACE VIEW playbooks.nurture AS SELECT user_id FROM auth0.users "
                    "UNION ALL SELECT min(user_id) FROM auth0.users")
        con.execute("UPDATE auth0.users SET filtered_out_at = now() WHERE user_id = (SELECT min(user_id) FROM auth0.users)")
        nurture = dg.AssetKey(["playbooks", "nurture"])
        selected = {dg.AssetCheckKey(view, name) for view in USER_VIEWS for name in VIEW_CHECKS}
        results = {(r.asset_key, r.check_name): r for view in USER_VIEWS
                   for r in view_check_results(view, view_figures(con, view), selected)}
    assert not results[(nurture, "one_row_per_user")].passed
    assert not results[(nurture, "only_live_users")].passed
    # user_auth_methods applies the live-user filter itself: still passing.
    assert results[(dg.AssetKey(["auth0", "user_auth_methods"]), "only_live_users")].passed


def test_a_view_check_runs_alone_without_rebuilding_its_view(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    """The UI's "Execute" on one view check selects that check only: the views step answers it."""
    pipeline_env(sandbox_factory())
    run_sync()
    nurture = dg.AssetKey(["playbooks", "nurture"])
    check = dg.AssetCheckKey(nurture, "one_row_per_user")
    job = build_definitions(SyncSettings.from_env()).resolve_job_def("auth0_sync")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.get_subset(asset_selection=set(), asset_check_selection={check}).execute_in_process(
            instance=instance)
    assert [(e.asset_key, e.check_name, e.passed) for e in result.get_asset_check_evaluations()] == [
        (nurture, "one_row_per_user", True)]
    assert result.get_asset_materialization_events() == []
