"""Extract tenant log events after the stored cursor (checkpoint paging).

A cursor older than the tenant's log retention is a gap in the history. Auth0 does not document
what a checkpoint from such a cursor gets, so both answers are handled: a 400 (extraction restarts
from the oldest retained event), or a page that silently starts at the oldest retained event. The
second looks like any other page, so when the first page has events, one `GET /api/v2/logs/{cursor}`
tells them apart: a 404 means the cursor's event is gone, hence so may be the events after it.
The gap (cursor, oldest retained event, size in seconds) is recorded for the `login_cursor_gap` check.
"""

from bridged_auth0_pipeline.auth0 import Auth0LogRetentionError
from bridged_auth0_pipeline.extraction.common import HighWater, request_metadata
from bridged_auth0_pipeline.extraction.progress import StreamProgress
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_records
from bridged_auth0_pipeline.store.state import read_state
from bridged_auth0_pipeline.auth0.timestamps import parse_timestamp


DESCRIPTION = "Auth0 tenant log events (every type) after the stored log_id cursor, as fetched by the last run."


def extract_login_events(log, client, con, progress: StreamProgress | None = None) -> dict:
    """Stage the log events; returns the asset's metadata. `con` is this thread's own connection."""
    progress = progress or StreamProgress("login_events")
    before = client.stats.management_requests_of_this_stream()
    cursor = read_state(con, "login_events").cursor
    detected_by = None
    pages = progress.pages_of(client.log_pages(cursor), "events", dated=True)
    try:
        first = next(pages, [])
    except Auth0LogRetentionError as exc:
        detected_by = f"Auth0 refused the checkpoint: {exc}"
        pages = progress.pages_of(client.log_pages(None), "events", dated=True)
        first = next(pages, [])
    else:
        # Read after the page, not before: if the cursor expires in between, this reports a gap
        # that may be empty; checking first could miss a real one.
        if cursor and first and client.retained_log_event(cursor) is None:
            detected_by = (f"GET /api/v2/logs/{cursor} answered 404 (the event is past the tenant's log "
                           "retention) and the checkpoint silently started at the oldest retained event")
    gap = _retention_gap(con, cursor, first, detected_by) if detected_by else None
    if gap:
        log.warning(f"Log retention gap of {gap.get('gap', 'unknown size')} after log_id {cursor}: events in it are "
                    f"lost. {detected_by}. Fix: sync more often than the plan's log retention (Starter 1 day, "
                    "Essentials 5, Professional 10, Enterprise 30).")
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


def _retention_gap(con, cursor: str, first: list[dict], detected_by: str) -> dict:
    """What is known of the hole: from the cursor's event (stored here) to the oldest retained one."""
    row = con.execute("SELECT occurred_at FROM auth0.login_events WHERE log_id = ?", [cursor]).fetchone()
    cursor_date = row[0] if row else None
    oldest = first[0] if first else {}
    gap = {
        "cursor": cursor,
        "cursor_occurred_at": str(cursor_date) if cursor_date else None,
        "oldest_available_log_id": oldest.get("log_id"),
        "oldest_available_date": oldest.get("date"),
        "detected_by": detected_by,
    }
    oldest_date = parse_timestamp(oldest.get("date"))
    if oldest_date is None:
        return gap
    if cursor_date is not None:
        size = oldest_date - cursor_date
        gap["gap_seconds"] = round(size.total_seconds())
        gap["gap"] = str(size)
    return gap


def _chain(first: list[dict], pages):
    """The first page was read ahead (to catch a retention gap before staging starts)."""
    yield from first
    for page in pages:
        yield from page
