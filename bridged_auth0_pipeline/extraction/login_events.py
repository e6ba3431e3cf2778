"""Extract tenant log events after the stored cursor (checkpoint paging).

A cursor older than the tenant's log retention is a gap in the history. Auth0 does not document
what a checkpoint from such a cursor gets, so both answers are handled: a 400 (extraction restarts
from the oldest retained event), or a page that silently starts at the oldest retained event. The
second looks like any other page, so when the first page has events, one `GET /api/v2/logs/{cursor}`
tells them apart: a 404 means the cursor's event is gone, hence so may be the events after it.
The gap (cursor, oldest retained event, size in seconds) is recorded for the `login_cursor_gap` check.

A tenant that syncs users but not logins still has its log read, for user deletions only: Auth0
deletes a user without touching any other user, so the log's `sdu` event is the only way an
incremental run can see it (without it, a deleted user stayed live until the weekly full snapshot).
That walk starts at the newest event (nothing before it is needed: the next users run is a full
snapshot, see `following_since`), and a tenant whose application lacks read:logs is warned and
reconciled by full snapshots only, as before.
"""

from bridged_auth0_pipeline.auth0 import Auth0LogRetentionError
from bridged_auth0_pipeline.auth0.errors import Auth0ScopeError
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.extraction.common import HighWater, request_metadata
from bridged_auth0_pipeline.extraction.progress import StreamProgress
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_records
from bridged_auth0_pipeline.store.state import read_state
from bridged_auth0_pipeline.auth0.timestamps import parse_timestamp


DESCRIPTION = ("Auth0 tenant log events after the stored log_id cursor, as fetched by the last run: every type, or "
               "only what user deletions need when the data object logins is off.")

# What the log is read for: every event (data object logins), or user deletions only (users without logins).
ALL_EVENTS = "all"
USER_DELETIONS = "user_deletions"


def log_mode(sync: SyncSettings) -> str:
    return ALL_EVENTS if "logins" in sync.data_objects else USER_DELETIONS


def extract_login_events(log, client, con, sync: SyncSettings, progress: StreamProgress | None = None) -> dict:
    """Stage the log events; returns the asset's metadata. `con` is this thread's own connection."""
    progress = progress or StreamProgress("login_events")
    before = client.stats.management_requests_of_this_stream()
    mode = log_mode(sync)
    state = read_state(con, "login_events")
    # Events skipped while only deletions were read are wanted once logins are: start over from the
    # oldest retained event (the load keeps each log_id once).
    cursor = None if mode == ALL_EVENTS and state.details.get("mode") == USER_DELETIONS else state.cursor
    detected_by = None
    try:
        start = client.newest_log_id() if mode == USER_DELETIONS and cursor is None else cursor
        pages = progress.pages_of(client.log_pages(start), "events", dated=True)
        first = next(pages, [])
    except Auth0LogRetentionError as exc:
        detected_by = f"Auth0 refused the checkpoint: {exc}"
        start = client.newest_log_id() if mode == USER_DELETIONS else None
        pages = progress.pages_of(client.log_pages(start), "events", dated=True)
        first = next(pages, [])
    except Auth0ScopeError as exc:
        if mode == ALL_EVENTS:
            raise
        log.warning(f"User deletions not read from the log: the application lacks {exc.scope}, so a user deleted in "
                    f"Auth0 stays live in auth0.users until the next full snapshot (every {sync.full_sync_every_days} "
                    f"days). Fix: grant {exc.scope} to the application (Auth0 Dashboard → Applications → APIs → Auth0 "
                    "Management API → Machine to Machine Applications).")
        with extraction_transaction(con, "login_events", "incremental") as extraction:
            extraction.details = {"mode": mode, "skipped_for_missing_scope": exc.scope}
        return {"dagster/row_count": 0, "mode": mode, "skipped_for_missing_scope": exc.scope,
                **request_metadata(client, before)}
    else:
        # Read after the page, not before: if the cursor expires in between, this reports a gap
        # that may be empty; checking first could miss a real one.
        if cursor and first and client.retained_log_event(cursor) is None:
            detected_by = (f"GET /api/v2/logs/{cursor} answered 404 (the event is past the tenant's log "
                           "retention) and the checkpoint silently started at the oldest retained event")
    gap = _retention_gap(con, cursor, first, detected_by) if detected_by else None
    if gap:
        log.warning(f"Log retention gap of {gap.get('gap', 'unknown size')} after log_id {cursor}: events in it are "
                    f"lost. {detected_by}. The next users run is a full snapshot, for the deletions among them. "
                    "Fix: sync more often than the plan's log retention (Starter 1 day, Essentials 5, "
                    "Professional 10, Enterprise 30).")
    high_water = HighWater("log_id", start=start)
    with extraction_transaction(con, "login_events", "incremental" if cursor else "full") as extraction:
        stage_records(con, "login_events", high_water.track(_chain(first, pages)), extraction)
        extraction.high_water = high_water.value
        # Followed from a new position (no cursor, or past a gap): deletions before it are unseen.
        extraction.details = {"from": cursor, "retention_gap": gap, "mode": mode,
                              "restarted": cursor is None or gap is not None}
    return {
        "dagster/row_count": extraction.records,
        "mode": mode,
        "from_log_id": cursor or start or "(oldest retained)",
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
