"""The Management API's two paging styles, in one place.

- Offset: page (0-based) / per_page with include_totals. Search endpoints stop at 1000 results
  (page past it → 400 invalid_paging); `users.py` shows how users are listed beyond that.
- Checkpoint: from / take, next cursor in the Link header (logs) or a `next` field (role members).
  No cap, and stable while new records arrive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bridged_auth0_pipeline.auth0.session import Auth0Session

SEARCH_RESULT_CAP = 1000
MAX_PAGE_SIZE = 100
_NEXT_LINK = re.compile(r'<[^>]*[?&]from=([^&>]+)[^>]*>\s*;\s*rel="?next"?')


def reachable_by_paging(per_page: int) -> int:
    """How many results page/per_page can reach under the cap: whole pages only (990 at 30 a page)."""
    return SEARCH_RESULT_CAP // per_page * per_page


def offset_pages(
    session: Auth0Session, path: str, params: dict[str, Any], per_page: int, items_key: str
) -> Iterator[tuple[list[dict], int | None]]:
    """Yield (records, total) page by page; stops at the last page or at the 1000-result cap."""
    page = 0
    while True:
        body, _ = session.get_json(path, {**params, "page": page, "per_page": per_page, "include_totals": "true"})
        records, total = unwrap(body, items_key)
        yield records, total
        page += 1
        seen = page * per_page
        if len(records) < per_page or (total is not None and seen >= total) or seen >= reachable_by_paging(per_page):
            return


def unwrap(body: Any, items_key: str) -> tuple[list[dict], int | None]:
    """include_totals=true answers {total, <items_key>: [...]}; without it a bare array."""
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        total = body.get("total")
        return list(body.get(items_key) or []), (int(total) if isinstance(total, (int, float)) else None)
    return [], None


def link_next_from(link_header: str | None) -> str | None:
    match = _NEXT_LINK.search(link_header or "")
    return match.group(1) if match else None
