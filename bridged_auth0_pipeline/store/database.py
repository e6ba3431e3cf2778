"""The one way to open a tenant's DuckDB warehouse: its folder created, its schema current."""

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from bridged_auth0_pipeline.store.migrations import apply_migrations

# What DuckDB may hold in memory; the Python process (Dagster, httpx, batches) adds ~300 MB.
DUCKDB_MEMORY_LIMIT = "256MB"

# DuckDB runs each query on as many threads as the machine has cores. When more runs share the cores
# (`sync --all --parallel C`), a second thread per run adds coordination, not throughput: a 20k-user
# full sync took 9.2 CPU-s on one thread and 9.7 on two, in the same wall (alone, 3 runs each).
# None: DuckDB's own default.
_threads: int | None = None


def share_cores(concurrent_runs: int) -> None:
    """Give this process's connections its share of the machine's cores, `concurrent_runs` sharing them."""
    global _threads
    _threads = max(1, (os.cpu_count() or 1) // max(1, concurrent_runs))


# Warehouses this process has brought up to date: a run opens its file once per step, and checking
# the migrations and both seeds took 30-40 ms each time.
_migrated: set[Path] = set()


class WarehouseLockedError(RuntimeError):
    """Another process has the warehouse file open: DuckDB then refuses a writer (measured: a read-only
    connection in one process makes `duckdb.connect(path)` in another fail with "Could not set lock")."""

    def __init__(self, path: Path, cause: Exception):
        found = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(cause))
        holder = f"{found.group(1)}, PID {found.group(2)}" if found else ""
        super().__init__(
            f"The warehouse {path} is open in another process{f' ({holder})' if holder else ''}, and DuckDB lets "
            "no process write a file another process has open, even read-only. That is another sync of this "
            "tenant, or a SQL session (DuckDB CLI, notebook, BI tool) left open on the file. Fix: close that "
            "session, or let the other sync finish (the run queue allows one run per tenant); then sync again."
        )


@contextmanager
def open_warehouse(warehouse: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to an up-to-date warehouse (creates the file's folder and schema if needed).

    Closed in `finally`: DuckDBResource.get_connection skips its close() when the body raises, and
    a connection left open keeps the file locked for the rest of the process.
    """
    path = Path(warehouse.database).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            con = stack.enter_context(warehouse.get_connection())
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            raise WarehouseLockedError(path, exc) from None  # the message carries the holder and the fix
        try:
            con.execute("SET TimeZone = 'UTC'")  # a timestamp without an offset means UTC, on every machine
            # DuckDB's default memory_limit is 80% of RAM, and it keeps using it as cache: the
            # full run peaked at 2.4 GB at 100k users and passed 6 GB at 1M. Bounded, it spills to
            # <database>.tmp instead (the loads in sql/loads are written to fit; see benchmarks/).
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            if _threads is not None:
                con.execute(f"SET threads = {_threads}")
            if path not in _migrated:
                apply_migrations(con)
                _migrated.add(path)
            yield con
        finally:
            con.close()
