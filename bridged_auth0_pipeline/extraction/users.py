"""Extract users: a full snapshot (export job) on the first run and every
BRIDGED_FULL_SYNC_EVERY_DAYS, otherwise the users updated since the last cursor."""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bridged_auth0_pipeline.auth0.records import user_fields
from bridged_auth0_pipeline.extraction.common import request_metadata
from bridged_auth0_pipeline.extraction.progress import StreamProgress
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_user_lines
from bridged_auth0_pipeline.store.state import StreamState, read_state
from bridged_auth0_pipeline.auth0.timestamps import parse_timestamp

# Auth0's user search is eventually consistent (seconds): re-read this much before the cursor so a
# user indexed late is not missed. The merge is idempotent, so the overlap costs nothing but a read.
SEARCH_INDEX_LAG = timedelta(seconds=10)


def plan_users_extraction(state: StreamState, sync: SyncSettings, now: datetime,
                          log_state: StreamState | None = None) -> tuple[str, str | None, str]:
    """(mode, since, why): full when there is no cursor, metadata got switched, deletions may have
    gone unseen (`log_state`: the log stream's, whose deletions the users load applies), or a
    snapshot is due."""
    if state.cursor is None:
        return "full", None, "first sync"
    if state.details.get("include_metadata") != sync.include_metadata:
        return "full", None, "BRIDGED_INCLUDE_METADATA changed"
    last_full = state.details.get("last_full_at")
    # The log is read for deletions from `following_since` on (a first read, or one past a retention
    # gap): a user deleted before it and after the last snapshot is only seen by a new snapshot.
    following_since = (log_state or StreamState()).details.get("following_since")
    if following_since and (last_full is None or datetime.fromisoformat(last_full) < datetime.fromisoformat(following_since)):
        return "full", None, f"user deletions are read from the log since {following_since}, after the last snapshot"
    if last_full is None or now - datetime.fromisoformat(last_full) >= timedelta(days=sync.full_sync_every_days):
        return "full", None, f"reconciliation due (every {sync.full_sync_every_days} days)"
    since = parse_timestamp(state.cursor) - SEARCH_INDEX_LAG
    return "incremental", since.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"), "cursor"


def plan_users(con, sync: SyncSettings, now: datetime) -> tuple[str, str | None, str]:
    """plan_users_extraction on the stored states: the users stream and the organizations planner
    both ask it, before this run's loads write any state, so they decide alike."""
    return plan_users_extraction(read_state(con, "users"), sync, now, read_state(con, "login_events"))


def cursor_after_full_snapshot(high_water: str | None, export_created_at: str | None) -> str | None:
    """The file's newest updated_at, but not past the export job's creation: Auth0 does not document
    the file as a picture of one moment, so a user changed while the job ran may be in it as it was,
    with an older updated_at than users written later. The next run re-reads from the job's start."""
    bounds = [(parse_timestamp(value), value) for value in (high_water, export_created_at)]
    known = [(parsed, value) for parsed, value in bounds if parsed is not None]
    return min(known)[1] if known else high_water


DESCRIPTION = (
    "Auth0 user profiles (with metadata and identities, IdP tokens removed) as fetched by the last run: "
    "a full export snapshot or the users updated since the cursor."
)


def _as_lines(records: Iterable[dict]) -> Iterator[bytes]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def extract_users(log, client, con, sync: SyncSettings, spool: Path, progress: StreamProgress | None = None) -> dict:
    """Stage the users; returns the asset's metadata. `con` is this thread's own connection;
    `spool` is where the NDJSON lines wait for DuckDB's reader."""
    progress = progress or StreamProgress("users")
    before = client.stats.management_requests_of_this_stream()
    mode, since, why = plan_users(con, sync, datetime.now(timezone.utc))
    log.info(f"Users extraction: {mode} ({why}){f' since {since}' if since else ''}")
    fields = user_fields(sync.include_metadata)
    lines = client.export_user_lines(fields) if mode == "full" else _as_lines(client.users_updated_since(since, fields))
    with extraction_transaction(con, "users", mode) as extraction, progress.following_export_jobs():
        extraction.details = {"since": since, "why": why, "include_metadata": sync.include_metadata}
        stage_user_lines(con, progress.records_of(lines, "records", then="reading them into DuckDB"), extraction, spool)
        if mode == "full" and lines.created_at is not None:
            extraction.details["export_created_at"] = lines.created_at.isoformat(timespec="milliseconds")
    return {
        "dagster/row_count": extraction.records,
        "mode": mode,
        "reason": why,
        "since": since or "",
        "high_water_updated_at": extraction.high_water or "",
        "read_json_seconds": extraction.details["read_json_seconds"],
        **request_metadata(client, before),
    }
