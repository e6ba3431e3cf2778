"""Where users are paginated: every user updated since a point, complete past the 1000 cap.

Auth0's user search returns at most 1000 results per query, so plain paging cannot list a large
tenant. We walk `updated_at` instead (keyset paging): each request is page 0 of
`updated_at:[last seen TO *]` sorted ascending, skipping the few users already yielded at that
boundary timestamp. Because every request starts from a value and not an offset, users updated
while we page move *ahead* of the walk and are picked up, never skipped.

Ties: when a whole page shares one timestamp T (a bulk import), the walk cannot advance, so T is
paged on its own (`updated_at:[T TO T]`); if even that holds more users than paging reaches
(1000, or fewer when the page size does not divide 1000), the users export job (a full snapshot,
no cap) supplies the users at T. The walk then resumes after T.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bridged_auth0_pipeline.auth0.pagination import SEARCH_RESULT_CAP, offset_pages, reachable_by_paging
from bridged_auth0_pipeline.auth0.session import Auth0Session

KEYSET_FIELDS = ("user_id", "updated_at")


def search_params(q: str | None, per_page: int, fields: list[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {"search_engine": "v3", "sort": "updated_at:1", "per_page": per_page, "page": 0}
    if q:
        params["q"] = q
    if fields:
        params["fields"] = ",".join(dict.fromkeys([*KEYSET_FIELDS, *fields]))
        params["include_fields"] = "true"
    return params


def iter_users_updated_since(
    session: Auth0Session,
    since: str | None,
    *,
    per_page: int,
    fields: list[str] | None = None,
    export_users_at: Callable[[str], Iterator[dict]],
) -> Iterator[dict]:
    """Yield every user with updated_at >= `since` (every user when None), ascending.

    Each user is yielded once unless it changes while we page (then again, newer: merge by
    updated_at). `export_users_at(T)` must yield all users whose updated_at is T.
    """
    lower = f"[{since}" if since else None  # '[' inclusive, '{' exclusive
    seen_at_boundary: set[str] = set()
    boundary = since
    while True:
        q = f"updated_at:{lower} TO *]" if lower else None
        page, _ = session.get_json("users", search_params(q, per_page, fields))
        page = page if isinstance(page, list) else page.get("users", [])
        for user in page:
            if not (user.get("updated_at") == boundary and user.get("user_id") in seen_at_boundary):
                yield user
        if len(page) < per_page:
            return
        last = page[-1].get("updated_at")
        if last is None:  # a record without updated_at cannot be walked past; treat as the end
            return
        if last == boundary or page[0].get("updated_at") == last:
            # The whole page is one timestamp: list that timestamp on its own, then move past it.
            already = seen_at_boundary if last == boundary else set()
            already |= {u["user_id"] for u in page if u.get("updated_at") == last}
            yield from _users_at(session, last, per_page, fields, already, export_users_at)
            lower, boundary, seen_at_boundary = f"{{{last}", None, set()
        else:
            seen_at_boundary = {u["user_id"] for u in page if u.get("updated_at") == last}
            lower, boundary = f"[{last}", last


def _users_at(
    session: Auth0Session,
    timestamp: str,
    per_page: int,
    fields: list[str] | None,
    already: set[str],
    export_users_at: Callable[[str], Iterator[dict]],
) -> Iterator[dict]:
    params = search_params(f"updated_at:[{timestamp} TO {timestamp}]", per_page, fields)
    params.pop("page")
    params.pop("per_page")
    pages = offset_pages(session, "users", params, per_page, "users")
    first, total = next(pages)
    # A total at the cap may be more; one past whole pages (991 at 30 a page) cannot all be paged.
    if total is not None and (total >= SEARCH_RESULT_CAP or total > reachable_by_paging(per_page)):
        source: Iterator[dict] = export_users_at(timestamp)
    else:
        source = (user for records in _chain_first(first, pages) for user in records)
    for user in source:
        if user.get("user_id") not in already:
            already.add(user["user_id"])
            yield user


def _chain_first(first: list[dict], rest: Iterator[tuple[list[dict], int | None]]) -> Iterator[list[dict]]:
    yield first
    for records, _ in rest:
        yield records
