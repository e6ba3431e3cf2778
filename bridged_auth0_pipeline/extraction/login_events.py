"""Extract tenant log events after the stored cursor (checkpoint paging). A cursor older than
the tenant's retention is recorded as a gap, and extraction restarts from the oldest event."""

from datetime import datetime

from bridged_auth0_pipeline.auth0 import Auth0LogRetentionError
from bridged_auth0_pipeline.extraction.common import HighWater, request_metadata
from bridged_auth0_pipeline.warehouse.staging import extraction_transaction, stage_records
from bridged_auth0_pipeline.warehouse.state import read_state


DESCRIPTION = "Auth0 tenant log events (every type) after the stored log_id cursor, as fetched by the last run."


def extract_login_events(log, client, con) -> dict:
    """Stage the log events; returns the asset's metadata. `con` is this thread's own connection."""
    before = client.stats.management_requests_of_this_stream()
    cursor = read_state(con, "login_events").cursor
    gap: dict | None = None
    pages = client.log_pages(cursor)
    try:
        first = next(pages, [])
    except Auth0LogRetentionError as exc:
        log.warning(str(exc))
        cursor_date = con.execute(
            "SELECT occurred_at FROM auth0.login_events WHERE log_id = ?", [cursor]
        ).fetchone()
        gap = {"cursor": cursor, "cursor_occurred_at": str(cursor_date[0]) if cursor_date else None}
        pages = client.log_pages(None)
        first = next(pages, [])
    if gap is not None:
        gap["oldest_available_log_id"] = first[0]["log_id"] if first else None
        gap["oldest_available_date"] = first[0].get("date") if first else None
        if cursor_date and first:  # the size of the hole in the history
            oldest = datetime.fromisoformat(first[0]["date"].replace("Z", "+00:00"))
            gap["gap_seconds"] = round((oldest - cursor_date[0]).total_seconds())
    high_water = HighWater("log_id", start=cursor)
    with extraction_transaction(con, "login_events", "incremental" if cursor else "full") as extraction:
        stage_records(con, "login_events", high_water.track(_chain(first, pages)), extraction)
        extraction.high_water = high_water.value
        extraction.details = {"from": cursor, "retention_gap": gap}
    return {
        "dagster/row_count": extraction.records,
        "from_log_id": cursor or "(oldest retained)",
        "last_log_id": extraction.high_water or "",
        "retention_gap": str(gap) if gap else "none",
        **request_metadata(client, before),
    }


def _chain(first: list[dict], pages):
    """The first page was read ahead (to catch a retention gap before staging starts)."""
    yield from first
    for page in pages:
        yield from page
