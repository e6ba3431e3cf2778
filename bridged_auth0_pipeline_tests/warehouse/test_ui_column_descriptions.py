"""The Dagster UI describes every column with the data dictionary's words.

docs/data-dictionary.md is the one source; the package ships its "meaning" cells as
bridged_auth0_pipeline/sql/dictionary/column_descriptions.csv (a wheel has no docs/). After editing
the dictionary, rewrite the file with:

    .venv/bin/python -m bridged_auth0_pipeline_tests.warehouse.test_ui_column_descriptions
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from bridged_auth0_pipeline.warehouse.metadata import COLUMN_DESCRIPTIONS, column_schema
from bridged_auth0_pipeline.store.sql_files import SQL_DIR
from bridged_auth0_pipeline_tests.views.test_playbooks_data_dictionary import dictionary_columns, schema_and_views

CSV_PATH = Path(str(SQL_DIR)) / COLUMN_DESCRIPTIONS
REWRITE = "Fix: .venv/bin/python -m bridged_auth0_pipeline_tests.warehouse.test_ui_column_descriptions"


def descriptions_csv() -> str:
    """The CSV the dictionary gives: a '\\|' in a cell is markdown's escape of '|'."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "column", "description"])
    for table, columns in sorted(dictionary_columns().items()):
        for column, _, meaning in columns:
            writer.writerow([table, column, meaning.replace("\\|", "|")])
    return out.getvalue()


def test_the_packaged_descriptions_equal_the_data_dictionary():
    assert CSV_PATH.read_text(encoding="utf-8") == descriptions_csv(), f"docs/data-dictionary.md changed. {REWRITE}"


def test_every_table_and_view_column_has_a_description_in_its_schema():
    con: duckdb.DuckDBPyConnection = schema_and_views()
    tables = [f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal AND table_name <> '_schema_migrations' "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
        "AND schema_name IN ('auth0', 'auth0_staging', 'playbooks')").fetchall()]
    assert {"auth0.users", "auth0.user_auth_methods", "playbooks.nurture"} <= set(tables)
    for table in tables:
        undescribed = [column.name for column in column_schema(con, table).columns if not column.description]
        assert not undescribed, f"{table}: no description for {undescribed}"
    users = {column.name: column.description for column in column_schema(con, "auth0.users").columns}
    assert users["user_id"].startswith("Auth0 user id, `provider|id` of the primary identity")


if __name__ == "__main__":
    CSV_PATH.write_text(descriptions_csv(), encoding="utf-8")
    print(f"wrote {CSV_PATH}")
