"""Create or migrate the warehouse schema: each sql/tables/NNN_*.sql runs once, recorded in
auth0._schema_migrations, all in one transaction. The log event type reference is reseeded."""

from __future__ import annotations

import duckdb

from bridged_auth0_pipeline.warehouse.sql_files import SQL_DIR, read_sql, sql_files
from bridged_auth0_pipeline.warehouse.transaction import transaction


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Bring the schema up to date; returns the migrations applied now (none when current)."""
    with transaction(con):
        con.execute("CREATE SCHEMA IF NOT EXISTS auth0")
        con.execute(
            "CREATE TABLE IF NOT EXISTS auth0._schema_migrations (name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        done = {name for (name,) in con.execute("SELECT name FROM auth0._schema_migrations").fetchall()}
        applied = []
        for name in sql_files("tables"):
            if name not in done:
                con.execute(read_sql(name))
                con.execute("INSERT INTO auth0._schema_migrations VALUES (?, now())", [name])
                applied.append(name)
        _seed_log_event_types(con)
    return applied


def _seed_log_event_types(con: duckdb.DuckDBPyConnection) -> None:
    seed = SQL_DIR / "seeds" / "log_event_types.csv"
    changed = con.execute(
        """
        SELECT count(*) FROM (
            (SELECT * FROM read_csv(?, header = true, all_varchar = true) EXCEPT SELECT * FROM auth0.log_event_types)
            UNION ALL
            (SELECT * FROM auth0.log_event_types EXCEPT SELECT * FROM read_csv(?, header = true, all_varchar = true))
        )
        """,
        [str(seed), str(seed)],
    ).fetchone()[0]
    if changed:
        con.execute("DELETE FROM auth0.log_event_types")
        con.execute("INSERT INTO auth0.log_event_types SELECT * FROM read_csv(?, header = true, all_varchar = true)", [str(seed)])
