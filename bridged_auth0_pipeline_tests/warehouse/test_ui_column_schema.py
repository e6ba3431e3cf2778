"""The Dagster UI shows every table's and view's columns with the data dictionary's types and words.

docs/data-dictionary.md is the one source; the package ships its column tables as
bridged_auth0_pipeline/sql/dictionary/columns.csv (a wheel has no docs/), and each table and view
asset carries them as definition metadata. After editing the dictionary, rewrite the file with:

    .venv/bin/python -m bridged_auth0_pipeline_tests.warehouse.test_ui_column_schema
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bridged_auth0_pipeline.store.sql_files import SQL_DIR
from bridged_auth0_pipeline.warehouse.metadata import DOCUMENTED_COLUMNS
from bridged_auth0_pipeline_tests.views.test_playbooks_data_dictionary import dictionary_columns, warehouse_columns

CSV_PATH = Path(str(SQL_DIR)) / DOCUMENTED_COLUMNS
REWRITE = "Fix: .venv/bin/python -m bridged_auth0_pipeline_tests.warehouse.test_ui_column_schema"
# Bookkeeping tables the pipeline writes but no asset stands for (documented in the dictionary all the same).
NOT_ASSETS = {"auth0._rejected", "auth0._sync_state"}


def columns_csv() -> str:
    """The CSV the dictionary gives: a '\\|' in a cell is markdown's escape of '|'."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "column", "type", "description"])
    for table, columns in sorted(dictionary_columns().items()):
        for column, data_type, meaning in columns:
            writer.writerow([table, column, data_type, meaning.replace("\\|", "|")])
    return out.getvalue()


def test_the_packaged_columns_equal_the_data_dictionary():
    assert CSV_PATH.read_text(encoding="utf-8") == columns_csv(), f"docs/data-dictionary.md changed. {REWRITE}"


def test_every_table_and_view_asset_shows_its_real_columns_described():
    """Each auth0.* and playbooks.* asset's definition lists the columns DuckDB has (names, order,
    types), each with a meaning; a column added to the DDL without the dictionary fails here."""
    from bridged_auth0_pipeline.definitions import defs  # not at import: the rewrite below must run with a stale file

    graph = defs.resolve_asset_graph()
    shown = {}
    for key in graph.get_all_asset_keys():
        if key.path[0] in ("auth0", "playbooks"):
            metadata = graph.get(key).metadata
            table = ".".join(key.path)
            assert metadata["dagster/table_name"] == table
            shown[table] = metadata["dagster/column_schema"].columns
    actual = {table: columns for table, columns in warehouse_columns().items() if table.split(".")[0] in ("auth0", "playbooks")}
    assert sorted(shown) == sorted(set(actual) - NOT_ASSETS)
    for table, columns in shown.items():
        assert [(column.name, column.type) for column in columns] == actual[table], table
        assert all(column.description for column in columns), table
    users = {column.name: column.description for column in shown["auth0.users"]}
    assert users["user_id"].startswith("Auth0 user id, `provider|id` of the primary identity")


if __name__ == "__main__":
    CSV_PATH.write_text(columns_csv(), encoding="utf-8")
    print(f"wrote {CSV_PATH}")
