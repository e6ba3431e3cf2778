"""Where tenant log events are paginated: checkpoint paging from a log_id, no result cap.

The first sync asks for the oldest retained events (search mode, sorted by date ascending) and
continues from the smallest log_id among them with `from`/`take` (ids follow write order, not date).
A `from` older than the tenant's retention is refused with a 400: that is a gap in the history,
raised as Auth0LogRetentionError for the caller to report.

A long backlog is read in lanes, several checkpoint walks at once (`in_flight.py`): one search
request per lane finds the first event of a later day (`q=date:[YYYY-MM-DD TO *]`), and the lane
before it stops on that exact log_id. Every lane runs from its start to the next lane's start (or
to the end), so together they cover everything after the cursor whatever order the ids sort in.
A lane costs at most two requests beyond the minimum (its search and one partly used page), so
lanes are only opened when the first page suggests at least LANE_MIN_PAGES pages each, and only
when the round trip calls for more than one walk at once (`in_flight.walks_to_fill_the_bucket`,
which also sets how many lanes are walked at once). A tenant whose log search refuses the day
query gets one walk.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import quote

from bridged_auth0_pipeline.auth0.errors import Auth0BadRequestError, Auth0LogRetentionError, Auth0NotFoundError
from bridged_auth0_pipeline.auth0.in_flight import interleave, walks_to_fill_the_bucket
from bridged_auth0_pipeline.auth0.pagination import link_next_from
from bridged_auth0_pipeline.auth0.session import Auth0Session
from bridged_auth0_pipeline.auth0.timestamps import parse_timestamp, server_time

log = logging.getLogger(__name__)

LANE_MIN_PAGES = 50  # ≤ 2 extra requests a lane: ≤ 4 % over the minimum


def iter_log_pages(session: Auth0Session, after: str | None, *, take: int) -> Iterator[list[dict]]:
    """Yield pages of events with log_id after `after` (from the oldest retained when None).

    Pages of different lanes arrive interleaved, each lane's in log_id order.
    """
    if after is None:
        first, headers = session.get_json("logs", {"sort": "date:1", "page": 0, "per_page": take})
    else:
        first, headers = _checkpoint_page(session, after, take)
    yield first
    if len(first) < take:
        return
    if after is None:
        # The oldest page is sorted by date, but ids follow the order Auth0 wrote the events in,
        # which a delayed event breaks: walking on from the page's last event would skip the events
        # written before it and dated after it. Walk on from the page's smallest id instead, and
        # leave out the page's events that the walk meets again.
        ids = {event["log_id"] for event in first}
        pages = _walks_after(session, min(ids), first, headers, take)
        yield from ([event for event in page if event.get("log_id") not in ids] for page in pages)
    else:
        yield from _walks_after(session, first[-1]["log_id"], first, headers, take)


def _walks_after(session: Auth0Session, cursor: str, first: list[dict], headers, take: int) -> Iterator[list[dict]]:
    """Every page after `cursor`: one checkpoint walk, or lanes when the backlog calls for them."""
    walks = walks_to_fill_the_bucket(session)
    days = _lane_start_days(first, server_time(headers)) if walks > 1 else []
    starts = _first_log_ids_of(session, days, after=cursor, walks=walks)
    if not starts:
        yield from _walk(session, cursor, None, take)
        return
    bounds = [cursor, *starts]
    lanes = (_walk(session, start, stop, take) for start, stop in zip(bounds, [*starts, None]))
    yield from interleave(lanes, max_in_flight=walks)


def _walk(session: Auth0Session, after: str, stop_at: str | None, take: int) -> Iterator[list[dict]]:
    """Checkpoint pages after `after`, up to and including the event `stop_at` (to the end when None)."""
    while True:
        page, headers = _checkpoint_page(session, after, take)
        ids = [event.get("log_id") for event in page]
        if stop_at is not None and stop_at in ids:
            yield page[: ids.index(stop_at) + 1]
            return
        yield page
        # Auth0 documents pages of "0-100 logs". The last lane ends on a short page: the head of a
        # busy tenant's log may never give an empty one, and the next sync resumes from the cursor.
        # A lane before another must reach its stop, as the cursor is the highest id of all lanes:
        # a lane ended early would leave a gap for good. Only an empty page ends it.
        if len(page) < take and (stop_at is None or not page):
            return
        after = link_next_from(headers.get("link")) or page[-1]["log_id"]


def newest_event_id(session: Auth0Session) -> str | None:
    """The log_id of the newest event by date (one search request), None for an empty log.

    A walk from it reads every event Auth0 writes afterwards: ids follow write order, so even a
    delayed event (written later, dated earlier) sorts after it.
    """
    page, _ = session.get_json("logs", {"sort": "date:-1", "page": 0, "per_page": 1, "fields": "log_id",
                                        "include_fields": "true"})
    return page[0].get("log_id") if page else None


def retained_event(session: Auth0Session, log_id: str) -> dict | None:
    """`GET /api/v2/logs/{id}`: the event, or None once it is past the tenant's retention (404).

    A checkpoint `from` whose event is gone may be refused (400) or silently answered from the
    oldest retained event: this tells the second case from a page that starts right after it.
    """
    try:
        event, _ = session.get_json(f"logs/{quote(log_id, safe='')}")
    except Auth0NotFoundError:
        return None
    return event


def _checkpoint_page(session: Auth0Session, after: str, take: int):
    try:
        return session.get_json("logs", {"from": after, "take": take})
    except Auth0BadRequestError as exc:
        raise Auth0LogRetentionError(
            f"Auth0 refused the log checkpoint from={after}: {exc}. The cursor is older than the "
            "tenant's log retention (Starter 1 day … Enterprise 30 days): events in between are lost. "
            "Fix: sync at least as often as the retention period.",
            error_code=exc.error_code,
        ) from exc


def _lane_start_days(first: list[dict], now: datetime) -> list[str]:
    """Days (YYYY-MM-DD, the granularity of log search) at which extra lanes start.

    The backlog is estimated from the time the first page spans: a full page per that span until
    now. Lanes split the remaining time evenly, as many as there are LANE_MIN_PAGES pages, at most
    one a day (log search only takes whole days, so a backlog within one day stays a single walk).
    Many small lanes, more than the walks in flight, keep every walk busy until near the end.
    """
    dates = sorted(d for d in (parse_timestamp(event.get("date")) for event in first) if d is not None)
    if len(dates) < 2 or now <= dates[-1]:
        return []
    page_span = max(dates[-1] - dates[0], timedelta(milliseconds=1))
    estimated_pages = (now - dates[-1]) / page_span
    lanes = min(int(estimated_pages // LANE_MIN_PAGES), (now - dates[-1]).days + 2)
    if lanes < 2:
        return []
    step = (now - dates[-1]) / lanes
    days = {(dates[-1] + step * i).date() + timedelta(days=1) for i in range(1, lanes)}
    return sorted(day.isoformat() for day in days if day <= now.date())


def _first_log_ids_of(session: Auth0Session, days: list[str], *, after: str, walks: int) -> list[str]:
    """The log_id of each day's first event (searched in parallel), distinct, past `after`."""

    def first_of(day: str) -> Iterator[str]:
        page, _ = session.get_json("logs", {"q": f"date:[{day} TO *]", "sort": "date:1", "page": 0, "per_page": 1})
        if page and isinstance(page[0].get("log_id"), str):
            yield page[0]["log_id"]

    try:
        found = set(interleave((first_of(day) for day in days), max_in_flight=walks))
    except Auth0BadRequestError as exc:
        # Lanes only make the backlog faster; a tenant that refuses the search still gets every
        # event, through one walk.
        log.warning("Log search refused the lane query (%s); reading the log backlog as one walk.", exc)
        return []
    return sorted(log_id for log_id in found if log_id > after)
