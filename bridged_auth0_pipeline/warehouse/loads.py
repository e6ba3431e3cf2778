"""Run a load (sql/loads/*.sql) in one DuckDB transaction: all of it lands, or none of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb

from bridged_auth0_pipeline.warehouse.sql_files import read_sql


def run_load(
    con: duckdb.DuckDBPyConnection,
    sql_file: str,
    *,
    synced_at: datetime,
    variables: dict[str, Any] | None = None,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> None:
    """Set the file's variables, run it, run `also` (e.g. write a cursor), commit together."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name, value in {"synced_at": synced_at, **(variables or {})}.items():
            con.execute(f"SET VARIABLE {name} = ?", [value])
        con.execute(read_sql(sql_file))
        if also is not None:
            also(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def row_count(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> int:
    return con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
