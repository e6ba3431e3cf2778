"""open_warehouse: DuckDB's threads follow how many runs share the machine's cores."""

from __future__ import annotations

import os

from dagster_duckdb import DuckDBResource

from bridged_auth0_pipeline.store import database


def _threads(warehouse: DuckDBResource) -> int:
    with database.open_warehouse(warehouse) as con:
        return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


def test_runs_sharing_the_cores_give_duckdb_their_share(tmp_path, monkeypatch):
    monkeypatch.setattr(database, "_threads", None)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    warehouse = DuckDBResource(database=str(tmp_path / "tenant.duckdb"))
    database.share_cores(1)
    assert _threads(warehouse) == 8
    database.share_cores(4)
    assert _threads(warehouse) == 2
    database.share_cores(16)  # more runs than cores: one each, never none
    assert _threads(warehouse) == 1
