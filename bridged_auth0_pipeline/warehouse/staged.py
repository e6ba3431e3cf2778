"""What a load needs first: the extraction its stream staged, or a failure that says what to run;
and the one load of a member-list stream (roles, organizations)."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from bridged_auth0_pipeline.warehouse.metadata import table_metadata
from bridged_auth0_pipeline.store.loads import execute_load
from bridged_auth0_pipeline.store.staging import Extraction, read_extraction
from bridged_auth0_pipeline.store.state import StreamState, write_state


def staged(con, stream: str) -> Extraction:
    extraction = read_extraction(con, stream)
    if extraction is None:
        raise dg.Failure(
            f"Nothing staged for {stream}: materialize auth0_staging/{stream} first (the auth0_sync job does both).",
            allow_retries=False,
        )
    return extraction


def load_member_lists(con, stream: str, synced_at: datetime, tables: dict[dg.AssetKey, tuple[str, str]]) -> dict:
    """Run loads/<stream>.sql and keep the log position its member lists are current as of (the next
    run's change check starts there); metadata of each of `tables` (asset → (table, preview order))."""
    extraction = staged(con, stream)
    execute_load(con, f"loads/{stream}.sql", synced_at=synced_at)
    write_state(con, stream, StreamState(cursor=extraction.high_water,
                                         details={"refreshed_at": extraction.details.get("refreshed_at")}))
    return {key: table_metadata(con, table, order) for key, (table, order) in tables.items()}
