"""Run a load (sql/loads/*.sql): its variables set, its SQL executed, inside the caller's transaction
or (`run_load`) in one of its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb

from bridged_auth0_pipeline.store.sql_files import read_sql
from bridged_auth0_pipeline.store.transaction import transaction


def execute_load(
    con: duckdb.DuckDBPyConnection, sql_file: str, *, synced_at: datetime, variables: dict[str, Any] | None = None
) -> None:
    for name, value in {"synced_at": synced_at, **(variables or {})}.items():
        con.execute(f"SET VARIABLE {name} = ?", [value])
    con.execute(read_sql(sql_file))


def run_load(
    con: duckdb.DuckDBPyConnection,
    sql_file: str,
    *,
    synced_at: datetime,
    variables: dict[str, Any] | None = None,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> None:
    """One load and `also` (e.g. write a cursor) in one transaction of their own."""
    with transaction(con):
        execute_load(con, sql_file, synced_at=synced_at, variables=variables)
        if also is not None:
            also(con)
