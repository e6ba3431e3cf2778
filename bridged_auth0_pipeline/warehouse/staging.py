"""Write an extraction into auth0_staging in bounded batches, in one transaction.

Records stream from HTTP straight into DuckDB a few thousand at a time (never the whole tenant
in memory). A failed extraction rolls back and leaves the previous staging intact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any

import duckdb
import pandas as pd

BATCH_SIZE = 5000
STAGING_TABLES = {
    "users": ("auth0_staging.users", "user_id"),
    "login_events": ("auth0_staging.login_events", "log_id"),
    "roles": ("auth0_staging.roles", "id"),
}


@dataclass
class Extraction:
    stream: str
    mode: str  # 'full' | 'incremental'
    high_water: str | None = None
    api_total: int | None = None
    details: dict[str, Any] | None = None
    records: int = 0


def _batches(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


@contextmanager
def extraction_transaction(con: duckdb.DuckDBPyConnection, stream: str, mode: str) -> Iterator[Extraction]:
    """Replace the stream's staging with what the body stages, atomically."""
    extraction = Extraction(stream, mode)
    table, _ = STAGING_TABLES[stream]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {table}")
        if stream == "roles":
            con.execute("DELETE FROM auth0_staging.role_members")
        yield extraction
        con.execute("DELETE FROM auth0_staging.extractions WHERE stream = ?", [stream])
        con.execute(
            "INSERT INTO auth0_staging.extractions VALUES (?, ?, ?, ?, ?, ?)",
            [stream, extraction.mode, extraction.high_water, extraction.api_total,
             json.dumps(extraction.details or {}), datetime.now(timezone.utc)],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def stage_records(con: duckdb.DuckDBPyConnection, stream: str, records: Iterable[dict], extraction: Extraction) -> None:
    table, key = STAGING_TABLES[stream]
    for batch in _batches(records, BATCH_SIZE):
        frame = pd.DataFrame(
            {"key": [str(r.get(key)) if r.get(key) is not None else None for r in batch],
             "raw": [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in batch]}
        )
        con.execute(f"INSERT INTO {table} SELECT key, raw FROM frame")
        extraction.records += len(batch)


def stage_role_members(con: duckdb.DuckDBPyConnection, role_id: str, user_ids: list[str]) -> None:
    if user_ids:
        frame = pd.DataFrame({"role_id": [role_id] * len(user_ids), "user_id": user_ids})
        con.execute("INSERT INTO auth0_staging.role_members SELECT role_id, user_id FROM frame")


def read_extraction(con: duckdb.DuckDBPyConnection, stream: str) -> Extraction | None:
    row = con.execute(
        "SELECT mode, high_water, api_total, details, (SELECT count(*) FROM " + STAGING_TABLES[stream][0] + ") "
        "FROM auth0_staging.extractions WHERE stream = ?",
        [stream],
    ).fetchone()
    if row is None:
        return None
    return Extraction(stream, row[0], row[1], row[2], json.loads(row[3]) if row[3] else {}, row[4])
