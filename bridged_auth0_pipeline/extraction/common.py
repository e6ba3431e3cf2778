"""What every extraction stream shares: request metadata and the high-water mark."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import duckdb

from bridged_auth0_pipeline.auth0 import Auth0Client
from bridged_auth0_pipeline.extraction.progress import StreamProgress


def request_metadata(client: Auth0Client, before: int) -> dict:
    """`before`: stats.management_requests_of_this_stream() when the stream started (streams run
    at the same time, each in its own thread, so the run-wide counter would mix them)."""
    stats = client.stats
    return {
        "auth0/management_requests": stats.management_requests_of_this_stream() - before,
        "auth0/run_management_requests": stats.management_requests,
        "auth0/token_requests": stats.token_requests,
        "auth0/seconds_waited_on_429": round(client.session.pacer.waited_on_429, 2),
    }


def requests_by_endpoint(client: Auth0Client) -> dict[str, int]:
    """The run's Management API requests per rate-limit group (users, logs, other, …), one number
    each so the UI plots them over runs. Run-wide: the streams share the groups' buckets (export
    polls and role members both count as `other`), so this is read once every stream is done."""
    return {f"auth0/requests/{group}": count for group, count in sorted(client.stats.by_endpoint.items())}


class HighWater:
    """The greatest value of `key` among records passing through (ISO timestamps and log ids sort as text)."""

    def __init__(self, key: str, start: str | None = None):
        self.key = key
        self.value = start

    def track(self, records: Iterable[dict]) -> Iterator[dict]:
        for record in records:
            value = record.get(self.key)
            if isinstance(value, str) and (self.value is None or value > self.value):
                self.value = value
            yield record


LATEST_LOG_ID = "SELECT max(log_id) FROM (SELECT log_id FROM auth0_staging.login_events UNION ALL SELECT log_id FROM auth0.login_events)"
LATEST_LOG_ID_BEFORE = """
    SELECT max(log_id) FROM (
        SELECT log_id, try_cast(raw::JSON->>'date' AS TIMESTAMPTZ) AS occurred_at FROM auth0_staging.login_events
        UNION ALL
        SELECT log_id, occurred_at FROM auth0.login_events
    ) WHERE occurred_at < $1
"""
REREAD_MARGIN = timedelta(minutes=5)


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
