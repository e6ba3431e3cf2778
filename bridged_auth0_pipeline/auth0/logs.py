"""Where tenant log events are paginated: checkpoint paging from a log_id, no result cap.

The first sync asks for the oldest retained event (search mode, sorted by date ascending) and
continues from it with `from`/`take`. A `from` older than the tenant's retention is refused with
a 400: that is a gap in the history, raised as Auth0LogRetentionError for the caller to report.
"""

from __future__ import annotations

from collections.abc import Iterator

from bridged_auth0_pipeline.auth0.errors import Auth0BadRequestError, Auth0LogRetentionError
from bridged_auth0_pipeline.auth0.pagination import link_next_from
from bridged_auth0_pipeline.auth0.session import Auth0Session


def iter_log_pages(session: Auth0Session, after: str | None, *, take: int) -> Iterator[list[dict]]:
    """Yield pages of events with log_id after `after` (from the oldest retained when None)."""
    if after is None:
        page, _ = session.get_json("logs", {"sort": "date:1", "page": 0, "per_page": take})
        yield page
        if len(page) < take:
            return
        after = page[-1]["log_id"]
    while True:
        try:
            page, headers = session.get_json("logs", {"from": after, "take": take})
        except Auth0BadRequestError as exc:
            raise Auth0LogRetentionError(
                f"Auth0 refused the log checkpoint from={after}: {exc}. The cursor is older than the "
                "tenant's log retention (Starter 1 day … Enterprise 30 days): events in between are lost. "
                "Fix: sync at least as often as the retention period.",
                error_code=exc.error_code,
            ) from exc
        yield page
        if len(page) < take:
            return
        after = link_next_from(headers.get("link")) or page[-1]["log_id"]
