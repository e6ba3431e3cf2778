"""open_warehouse: DuckDB's threads follow how many runs share the machine's cores, and a file
another process holds is a named error with its fix."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest
from dagster._utils import backoff
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


def test_a_file_another_process_writes_is_named_with_the_fix(tmp_path, monkeypatch):
    """An analyst's session left open on the file, or a second sync of the tenant."""
    path = tmp_path / "tenant.duckdb"
    with database.open_warehouse(DuckDBResource(database=str(path))):
        pass
    # Even a read-only session keeps a writer out.
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}, read_only=True); "
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        # dagster_duckdb retries a locked file ten times, 0.1 s doubling (~100 s): not this test's subject.
        monkeypatch.setattr(backoff, "exponential_delay_generator", lambda: itertools.repeat(0.01))
        with pytest.raises(database.WarehouseLockedError) as error:
            with database.open_warehouse(DuckDBResource(database=str(path))):
                pass
    finally:
        holder.communicate("")
    message = str(error.value)
    assert str(path) in message and f", PID {holder.pid}), and DuckDB lets" in message
    assert message.endswith("Fix: close that session, or let the other sync finish (the run queue allows one run "
                            "per tenant); then sync again.")
    with database.open_warehouse(DuckDBResource(database=str(path))) as con:  # free again once the holder is gone
        assert con.execute("SELECT 1").fetchone() == (1,)
