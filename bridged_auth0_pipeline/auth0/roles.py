"""Roles and their members. Members use checkpoint paging (`from`/`take`, `next` in the body),
which Auth0 requires past 1000 members."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from bridged_auth0_pipeline.auth0.pagination import offset_pages
from bridged_auth0_pipeline.auth0.session import Auth0Session


def iter_roles(session: Auth0Session, *, per_page: int, name_filter: str | None = None) -> Iterator[dict]:
    for records, _ in offset_pages(session, "roles", {"name_filter": name_filter}, per_page, "roles"):
        yield from records


def iter_role_members(session: Auth0Session, role_id: str, *, take: int) -> Iterator[dict]:
    checkpoint: str | None = None
    while True:
        body, _ = session.get_json(f"roles/{quote(role_id, safe='')}/users", {"take": take, "from": checkpoint})
        users = body.get("users", []) if isinstance(body, dict) else body
        yield from users
        checkpoint = body.get("next") if isinstance(body, dict) else None
        if not checkpoint or not users:
            return
