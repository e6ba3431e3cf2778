"""The member-list streams (roles, organizations): owners listed every run, their members re-read only
when something may have changed them, and the log position the memberships are current as of.

Member lists cost a request per 100 members per owner, so each stream's planner says why they must
be re-read (or None: the stored memberships are carried forward). A re-read may run while this
run's log events are still being fetched; the memberships' log position then covers only events
logged before it started, so a change made meanwhile shows in the next run's check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb

from bridged_auth0_pipeline.auth0 import Auth0Client
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.extraction.common import request_metadata
from bridged_auth0_pipeline.extraction.progress import StreamProgress
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_records
from bridged_auth0_pipeline.store.state import read_state


LATEST_LOG_ID = "SELECT max(log_id) FROM (SELECT log_id FROM auth0_staging.login_events UNION ALL SELECT log_id FROM auth0.login_events)"
LATEST_LOG_ID_BEFORE = """
    SELECT max(log_id) FROM (
        SELECT log_id, try_cast(raw::JSON->>'date' AS TIMESTAMPTZ) AS occurred_at FROM auth0_staging.login_events
        UNION ALL
        SELECT log_id, occurred_at FROM auth0.login_events
    ) WHERE occurred_at < $1
"""
REREAD_MARGIN = timedelta(minutes=5)

# This run's staged events (raw text) and the stored ones after the cursor. A user deletion is an
# event type the seed classifies `user_deleted` (auth0.log_event_types, reloaded whenever the
# warehouse is opened, so present before any extraction); the semi-join on it costs what the literal
# `sdu` did. A `sapi` (Management API write) without a path counts, to be safe.
MEMBERSHIP_CHANGES_SINCE = """
    SELECT count(*) FROM (
        SELECT log_id, try_cast(raw AS JSON) AS j FROM auth0_staging.login_events
        UNION ALL
        SELECT log_id, raw FROM auth0.login_events WHERE log_id > coalesce($after, '')
    )
    WHERE log_id > coalesce($after, '')
      AND (j->>'type' IN (SELECT code FROM auth0.log_event_types WHERE category = 'user_deleted')
           OR (j->>'type' = 'sapi' AND (j->'details'->'request'->>'path' IS NULL
                                       OR regexp_matches(j->'details'->'request'->>'path', $sapi_paths))))
"""


def membership_changes_since(con: duckdb.DuckDBPyConnection, after: str | None, sapi_paths: str) -> int:
    """How many log events after log position `after` may have changed memberships: user deletions,
    and Management API writes on a path `sapi_paths` (a regular expression) finds."""
    return con.execute(MEMBERSHIP_CHANGES_SINCE, {"after": after, "sapi_paths": sapi_paths}).fetchone()[0]


class LogWait:
    """`wait_for_login_events` for a member-list stream, remembering whether it has waited: member
    lists re-read before this run's log events were staged are current only as of the re-read's
    start (memberships_log_position). The stream's progress says it is waiting meanwhile."""

    def __init__(self, wait_for_login_events, progress: StreamProgress):
        self._wait = progress.while_doing("waiting for this run's log events", wait_for_login_events)
        self.done = False

    def __call__(self) -> None:
        self._wait()
        self.done = True


def memberships_log_position(con: duckdb.DuckDBPyConnection, reread_ahead_of_logs: bool, started: datetime,
                             previous: str | None) -> str | None:
    """The log position member lists (roles, organizations) are current as of; call once this run's log
    events are staged. It must cover them, so read through a fresh connection (the caller's transaction
    snapshot predates them). After a re-read that ran ahead of the log events, only events logged before
    it started are covered (with a margin for clock skew): a change made meanwhile shows in the next check."""
    with con.cursor() as fresh:
        if reread_ahead_of_logs:
            return fresh.execute(LATEST_LOG_ID_BEFORE, [started - REREAD_MARGIN]).fetchone()[0] or previous
        return fresh.execute(LATEST_LOG_ID).fetchone()[0]


@dataclass(frozen=True)
class MemberLists:
    """What differs between the member-list streams."""

    stream: str  # the staging stream and its state key; also what the owners are called
    label: str  # "Role members", for the log line
    members_table: str  # the staging table whose rows are the memberships
    owners: Callable[[Auth0Client], Iterable[dict]]
    plan: Callable[..., str | None]  # (con, state, owners, sync, now, wait_for_login_events) -> why re-read
    reread: Callable[[duckdb.DuckDBPyConnection, Auth0Client, list[dict], StreamProgress], None]
    keep: Callable[[duckdb.DuckDBPyConnection], None]  # carry the stored memberships forward


def extract_member_lists(lists: MemberLists, log, client: Auth0Client, con: duckdb.DuckDBPyConnection,
                         sync: SyncSettings, wait_for_login_events, progress: StreamProgress) -> dict:
    """Stage the owners and their members; returns the asset's metadata. `con` is this thread's own
    connection. `wait_for_login_events()` blocks until this run's log events are staged (or raises if
    that failed): only the planner's last check needs them, so a first sync does not wait."""
    before = client.stats.management_requests_of_this_stream()
    now = datetime.now(timezone.utc)
    owners = list(progress.records_of(lists.owners(client), lists.stream))
    state = read_state(con, lists.stream)
    wait_for_logs = LogWait(wait_for_login_events, progress)
    reason = lists.plan(con, state, owners, sync, now, wait_for_logs)
    # Members re-read before this run's log events were staged (first sync, periodic refresh, a new
    # owner list) are current only as of the re-read's start; otherwise as of every event staged.
    reread_ahead_of_logs = bool(reason) and not wait_for_logs.done
    log.info(f"{lists.label}: {'re-read, ' + reason if reason else 'unchanged since the last refresh'}")
    with extraction_transaction(con, lists.stream, "full" if reason else "incremental") as extraction:
        stage_records(con, lists.stream, owners, extraction)
        if reason:  # may run while this run's log events are still being fetched
            lists.reread(con, client, owners, progress)
        else:
            lists.keep(con)
        members = con.execute(f"SELECT count(*) FROM {lists.members_table}").fetchone()[0]
        wait_for_logs()
        extraction.api_total = len(owners)
        extraction.high_water = memberships_log_position(con, reread_ahead_of_logs, now, state.cursor)
        extraction.details = {
            "memberships": members,
            "refreshed_at": now.isoformat() if reason else state.details.get("refreshed_at"),
            "reason": reason,
        }
    return {
        "dagster/row_count": len(owners),
        "memberships": members,
        "members_reread": reason or "no (unchanged)",
        **request_metadata(client, before),
    }
