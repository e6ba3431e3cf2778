"""Sync cursors in auth0._sync_state, always written in the transaction of the rows they cover."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb


@dataclass
class StreamState:
    cursor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def read_state(con: duckdb.DuckDBPyConnection, stream: str) -> StreamState:
    row = con.execute("SELECT cursor, details FROM auth0._sync_state WHERE stream = ?", [stream]).fetchone()
    if row is None:
        return StreamState()
    return StreamState(cursor=row[0], details=json.loads(row[1]) if row[1] else {})


def write_state(con: duckdb.DuckDBPyConnection, stream: str, state: StreamState) -> None:
    """Call inside the load's transaction."""
    con.execute("DELETE FROM auth0._sync_state WHERE stream = ?", [stream])
    con.execute(
        "INSERT INTO auth0._sync_state VALUES (?, ?, ?, now())", [stream, state.cursor, json.dumps(state.details)]
    )
