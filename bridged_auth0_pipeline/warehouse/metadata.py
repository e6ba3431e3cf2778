"""Materialization metadata for a warehouse table or view: row count, described column schema and a
small preview, so the Dagster UI explains the data."""

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
# The "meaning" cells of docs/data-dictionary.md, shipped in the package (a wheel has no docs/);
# test_ui_column_descriptions.py keeps the two equal and rewrites this file from the dictionary.
COLUMN_DESCRIPTIONS = "dictionary/column_descriptions.csv"


@cache
def column_descriptions() -> dict[tuple[str, str], str]:
    """{(schema.table, column): meaning}."""
    rows = csv.DictReader(io.StringIO(read_sql(COLUMN_DESCRIPTIONS)))
    return {(row["table"], row["column"]): row["description"] for row in rows}


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """The table's (or view's) columns as DuckDB has them, each with its data-dictionary meaning."""
    schema_name, table_name = table.split(".")
    columns = con.execute(
        """SELECT column_name, data_type FROM duckdb_columns()
           WHERE schema_name = ? AND table_name = ? ORDER BY column_index""",
        [schema_name, table_name],
    ).fetchall()
    described = column_descriptions()
    return dg.TableSchema(columns=[dg.TableColumn(name, data_type, description=described.get((table, name)))
                                   for name, data_type in columns])


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, order_by: str) -> dict:
    schema = column_schema(con, table)
    shown = [column.name for column in schema.columns if column.name not in PREVIEW_SKIP]
    rows = con.execute(f"SELECT {', '.join(shown)} FROM {table} ORDER BY {order_by} LIMIT {PREVIEW_ROWS}").fetchall()
    return {
        "dagster/row_count": con.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
        "dagster/column_schema": schema,
        "dagster/table_name": table,
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
