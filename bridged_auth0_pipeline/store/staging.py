"""Write an extraction into auth0_staging, in one transaction.

Records stream from HTTP into DuckDB without the whole tenant ever being in memory: log events and
roles a few thousand at a time, users as NDJSON lines through a spool file that DuckDB's own JSON
reader loads in one pass. A failed extraction rolls back and leaves the previous staging intact.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb

from bridged_auth0_pipeline.store.transaction import transaction

# Log events and roles per insert. 1,000 rather than 5,000: 1M-user full run peak 526 MB instead of
# 555–588 MB (benchmarks/run.py), at the same log pace within noise (46.4/s vs 46.6–47.6/s).
BATCH_SIZE = 1000
STAGING_TABLES = {
    "users": ("auth0_staging.users", "user_id"),
    "login_events": ("auth0_staging.login_events", "log_id"),
    "roles": ("auth0_staging.roles", "id"),
    "organizations": ("auth0_staging.organizations", "id"),
    "connections": ("auth0_staging.connections", "id"),
    "clients": ("auth0_staging.clients", "client_id"),
}
# The member lists staged with a stream's owners (extraction/member_lists.py), replaced with them.
MEMBER_TABLES = {
    "roles": ("auth0_staging.role_members",),
    "organizations": ("auth0_staging.organization_members", "auth0_staging.organization_member_roles"),
}


@dataclass
class Extraction:
    stream: str
    mode: str  # 'full' | 'incremental'
    high_water: str | None = None
    api_total: int | None = None
    details: dict[str, Any] | None = None
    records: int = 0


def _batches(records: Iterable, size: int) -> Iterator[list]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


@contextmanager
def extraction_transaction(con: duckdb.DuckDBPyConnection, stream: str, mode: str) -> Iterator[Extraction]:
    """Replace the stream's staging with what the body stages, atomically."""
    extraction = Extraction(stream, mode)
    table, _ = STAGING_TABLES[stream]
    with transaction(con):
        for staged in (table, *MEMBER_TABLES.get(stream, ())):
            con.execute(f"DELETE FROM {staged}")
        yield extraction
        con.execute("DELETE FROM auth0_staging.extractions WHERE stream = ?", [stream])
        con.execute(
            "INSERT INTO auth0_staging.extractions VALUES (?, ?, ?, ?, ?, ?)",
            [stream, extraction.mode, extraction.high_water, extraction.api_total,
             json.dumps(extraction.details or {}), datetime.now(timezone.utc)],
        )


def stage_records(con: duckdb.DuckDBPyConnection, stream: str, records: Iterable[dict], extraction: Extraction) -> None:
    table, key = STAGING_TABLES[stream]
    for batch in _batches(records, BATCH_SIZE):
        keys = [str(r.get(key)) if r.get(key) is not None else None for r in batch]
        raws = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in batch]
        # Two Python lists bound as DuckDB lists and unnested side by side. No DataFrame: importing
        # pandas alone adds ~80 MB to the run process, an eighth of its memory budget.
        con.execute(f"INSERT INTO {table} SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])", [keys, raws])
        extraction.records += len(batch)


def stage_user_lines(con: duckdb.DuckDBPyConnection, lines: Iterable[bytes], extraction: Extraction, spool: Path) -> None:
    """Stage users from NDJSON lines (IdP tokens already removed) with DuckDB's read_json.

    The lines go to `spool` (owner-only, deleted afterwards; a killed run's copy is overwritten by
    the next), then read_json fills one column per field, as text or JSON: nothing is typed yet, so
    no value can fail the read. Sets the extraction's record count and high-water updated_at.
    """
    try:
        descriptor = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as out:
            lines_written = 0
            for line in lines:
                out.write(line)
                out.write(b"\n")
                lines_written += 1
        columns = dict(con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'auth0_staging' AND table_name = 'users' AND column_name <> 'raw'"
        ).fetchall())
        started = time.perf_counter()
        # Row order means nothing in staging; keeping it doubles read_json's time at 1M users.
        # SESSION: this connection only (the log stream stages beside it).
        con.execute("SET SESSION preserve_insertion_order = false")
        try:
            con.execute(
                "INSERT INTO auth0_staging.users BY NAME SELECT * FROM "
                "read_json(?, format = 'newline_delimited', columns = ?, ignore_errors = true)",
                [str(spool), columns],
            )
        finally:
            con.execute("RESET SESSION preserve_insertion_order")
        unreadable = con.execute(
            "SELECT count(*) FROM auth0_staging.users WHERE json_type(user_id) IS DISTINCT FROM 'VARCHAR'"
        ).fetchone()[0]
        if unreadable:
            _keep_rejected_lines(con, spool, unreadable)
        extraction.records, extraction.high_water = con.execute(
            "SELECT count(*), max(updated_at) FILTER (WHERE try_cast(updated_at AS TIMESTAMPTZ) IS NOT NULL) "
            "FROM auth0_staging.users"
        ).fetchone()
        extraction.details = {**(extraction.details or {}), "read_json_seconds": round(time.perf_counter() - started, 3)}
        if extraction.records != lines_written:
            raise RuntimeError(f"Staged {extraction.records} users from {lines_written} lines; the extraction is not committed.")
    finally:
        spool.unlink(missing_ok=True)


def _keep_rejected_lines(con: duckdb.DuckDBPyConnection, spool: Path, unreadable: int) -> None:
    """Replace the rows read_json could not fill (invalid JSON, not an object, no text user_id) by
    the lines themselves, so the load can reject them with the evidence. Rare: only then is the
    spool parsed in Python."""
    con.execute("DELETE FROM auth0_staging.users WHERE json_type(user_id) IS DISTINCT FROM 'VARCHAR'")
    rejected = []
    with spool.open("rb") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not (isinstance(record, dict) and isinstance(record.get("user_id"), str)):
                rejected.append(line.rstrip(b"\n").decode("utf-8", errors="replace"))
    if len(rejected) != unreadable:
        raise RuntimeError(
            f"DuckDB's JSON reader could not read {unreadable - len(rejected)} valid user records in {spool}; "
            "the extraction is not committed. Fix: report the record (it may exceed read_json's maximum_object_size)."
        )
    con.execute("INSERT INTO auth0_staging.users (raw) SELECT unnest(?::VARCHAR[])", [rejected])


def stage_role_members(con: duckdb.DuckDBPyConnection, memberships: Iterable[tuple[str, str]]) -> None:
    """(role_id, user_id) pairs, in batches."""
    for batch in _batches(memberships, BATCH_SIZE):
        role_ids, user_ids = zip(*batch)
        con.execute(
            "INSERT INTO auth0_staging.role_members SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
            [list(role_ids), list(user_ids)],
        )


def read_extraction(con: duckdb.DuckDBPyConnection, stream: str) -> Extraction | None:
    row = con.execute(
        "SELECT mode, high_water, api_total, details, (SELECT count(*) FROM " + STAGING_TABLES[stream][0] + ") "
        "FROM auth0_staging.extractions WHERE stream = ?",
        [stream],
    ).fetchone()
    if row is None:
        return None
    return Extraction(stream, row[0], row[1], row[2], json.loads(row[3]) if row[3] else {}, row[4])
