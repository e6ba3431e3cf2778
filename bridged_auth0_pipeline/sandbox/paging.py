"""Query-parameter parsing, page slicing, the 1000-result cap and `include_totals` envelopes.

Every listing endpoint goes through here, so the cap (HTTP 400 invalid_paging when
(page + 1) * per_page > 1000) and the totals shape are decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import invalid_paging, query_validation

SEARCH_CAP = 1000


def int_param(query: dict[str, str], name: str, default: int, *, minimum: int = 0,
              maximum: int | None = None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise query_validation("Expected type integer but found type string", name) from None
    if value < minimum:
        raise query_validation(f"Too small: {value} (min {minimum})", name)
    if maximum is not None and value > maximum:
        raise query_validation(f"Too big: {value} (max {maximum})", name)
    return value


def bool_param(query: dict[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise query_validation("Expected type boolean but found type string", name)


@dataclass(frozen=True)
class Page:
    page: int
    per_page: int
    include_totals: bool

    @property
    def start(self) -> int:
        return self.page * self.per_page

    def slice(self, items: Sequence) -> list:
        return list(items[self.start:self.start + self.per_page])


def read_page(query: dict[str, str], *, cap: int | None, default_per_page: int = 50,
              max_per_page: int = 100) -> Page:
    """Validate page/per_page/include_totals; enforce the search cap when `cap` is set."""
    page = int_param(query, "page", 0)
    per_page = int_param(query, "per_page", default_per_page, maximum=max_per_page)
    include_totals = bool_param(query, "include_totals", False)
    if cap is not None and (page + 1) * per_page > cap:
        raise invalid_paging()
    return Page(page, per_page, include_totals)


def paged_body(items: Sequence, page: Page, key: str, *, cap: int | None, with_length: bool,
               render: Callable[[dict], dict] | None = None) -> list | dict:
    """The bare array, or the `include_totals` object with `total` capped like Auth0 does.

    Users and logs envelopes carry `length`; roles and role members do not (their schemas forbid
    extra properties).
    """
    rows = page.slice(items)
    if render is not None:
        rows = [render(row) for row in rows]
    if not page.include_totals:
        return rows
    total = len(items) if cap is None else min(len(items), cap)
    body: dict = {"start": page.start, "limit": page.per_page}
    if with_length:
        body["length"] = len(rows)
    body["total"] = total
    body[key] = rows
    return body
