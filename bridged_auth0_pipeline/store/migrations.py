"""Create or migrate the warehouse schema: each sql/tables/NNN_*.sql runs once, recorded in
auth0._schema_migrations, all in one transaction. The reference tables (log event types, identity
providers, method types) are reseeded from sql/seeds/; when the log event types change, the stored
events take their new category (sql/loads/login_event_categories.sql)."""

from __future__ import annotations

import duckdb

from bridged_auth0_pipeline.store.sql_files import SQL_DIR, read_sql, sql_files
from bridged_auth0_pipeline.store.transaction import transaction


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
        if _reseed(con, "auth0.log_event_types", "log_event_types.csv"):
            # login_events is append-only: without this, events loaded under an older seed would keep
            # its category, and the playbooks would count them by it for as long as they are kept.
            con.execute(read_sql("loads/login_event_categories.sql"))
        _reseed(con, "auth0.identity_providers", "identity_providers.csv")
        _reseed(con, "auth0.method_types", "method_types.csv")
    return applied


def _reseed(con: duckdb.DuckDBPyConnection, table: str, seed_file: str) -> bool:
    """Replace `table` with its seed when they differ; whether they did."""
    seed = SQL_DIR / "seeds" / seed_file
    changed = con.execute(
        f"""
        SELECT count(*) FROM (
            (SELECT * FROM read_csv(?, header = true, all_varchar = true) EXCEPT SELECT * FROM {table})
            UNION ALL
            (SELECT * FROM {table} EXCEPT SELECT * FROM read_csv(?, header = true, all_varchar = true))
        )
        """,
        [str(seed), str(seed)],
    ).fetchone()[0]
    if changed:
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} SELECT * FROM read_csv(?, header = true, all_varchar = true)", [str(seed)])
    return bool(changed)
