"""What the Dagster UI shows of a warehouse table or view: its documented columns on the asset's
definition, and each run's row count and a small preview on its materialization."""

from __future__ import annotations

import csv
import io
from functools import cache

import dagster as dg
import duckdb

from bridged_auth0_pipeline.store.sql_files import read_sql

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 40
# Columns left out of previews: raw payloads are long and hashes say nothing to a reader.
PREVIEW_SKIP = {"raw", "source_hash", "profile_data", "user_metadata", "app_metadata"}
# The column tables of docs/data-dictionary.md (name, type, meaning of every column of every table
# and view), shipped in the package: a wheel has no docs/. test_ui_column_schema.py keeps this file
# equal to the dictionary and rewrites it; test_playbooks_data_dictionary.py keeps the dictionary
# equal to the DDL and the views.
DOCUMENTED_COLUMNS = "dictionary/columns.csv"


@cache
def documented_columns() -> dict[str, list[dg.TableColumn]]:
    """{schema.table: its columns in order, each with its type and data-dictionary meaning}."""
    tables: dict[str, list[dg.TableColumn]] = {}
    for row in csv.DictReader(io.StringIO(read_sql(DOCUMENTED_COLUMNS))):
        tables.setdefault(row["table"], []).append(dg.TableColumn(row["column"], row["type"], description=row["description"]))
    return tables


def table_definition(table: str) -> dict:
    """Definition metadata of the asset that is `table` (schema.name): its name and column schema.

    Both are fixed by the code (sql/tables, sql/views), so they belong to the definition, as Dagster
    advises for a schema known in advance: the catalog shows the columns before a first run, and no
    run stores them again. On the materializations, Dagster stored them twice a run (in the step
    output and the materialization event): a 1k-user run's events took 332 KB with them, 235 KB
    without (plus the SQLite index file's copy of asset events: 180 KB, 132 KB).
    """
    columns = documented_columns().get(table)
    if not columns:
        raise ValueError(f"{table} has no columns in docs/data-dictionary.md. Fix: document them there and run "
                         "`.venv/bin/python -m bridged_auth0_pipeline_tests.warehouse.test_ui_column_schema`.")
    return {"dagster/table_name": table, "dagster/column_schema": dg.TableSchema(columns=columns)}


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, order_by: str) -> dict:
    """A run's figures of `table`: its row count (plotted over runs) and its first rows."""
    shown = [column.name for column in documented_columns()[table] if column.name not in PREVIEW_SKIP]
    rows = con.execute(f"SELECT {', '.join(shown)} FROM {table} ORDER BY {order_by} LIMIT {PREVIEW_ROWS}").fetchall()
    return {
        "dagster/row_count": con.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
        "preview": dg.MetadataValue.md(_markdown(shown, rows)),
    }


def _markdown(header: list[str], rows: list[tuple]) -> str:
    def cell(value) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
