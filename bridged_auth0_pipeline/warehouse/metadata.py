"""Materialization metadata for a warehouse table: row count, column schema and a small preview."""

from __future__ import annotations

import dagster as dg
import duckdb

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 40
# Columns left out of previews: raw payloads are long and hashes say nothing to a reader.
PREVIEW_SKIP = {"raw", "source_hash", "profile_data", "user_metadata", "app_metadata"}


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, order_by: str) -> dict:
    schema_name, table_name = table.split(".")
    columns = con.execute(
        """SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns()
           WHERE schema_name = ? AND table_name = ? ORDER BY column_index""",
        [schema_name, table_name],
    ).fetchall()
    shown = [name for name, _, _ in columns if name not in PREVIEW_SKIP]
    rows = con.execute(f"SELECT {', '.join(shown)} FROM {table} ORDER BY {order_by} LIMIT {PREVIEW_ROWS}").fetchall()
    return {
        "dagster/row_count": con.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, data_type, description=comment or None) for name, data_type, comment in columns]
        ),
        "dagster/table_name": f"{schema_name}.{table_name}",
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
