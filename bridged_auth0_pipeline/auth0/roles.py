"""Roles and their members. Members use checkpoint paging (`from`/`take`, `next` in the body),
which Auth0 requires past 1000 members; several roles are walked at once (`in_flight.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from bridged_auth0_pipeline.auth0.in_flight import interleave, walks_to_fill_the_bucket
from bridged_auth0_pipeline.auth0.pagination import offset_pages
from bridged_auth0_pipeline.auth0.session import Auth0Session


def iter_roles(session: Auth0Session, *, per_page: int, name_filter: str | None = None) -> Iterator[dict]:
    for records, _ in offset_pages(session, "roles", {"name_filter": name_filter}, per_page, "roles"):
        yield from records


def iter_role_members(session: Auth0Session, role_id: str, *, take: int) -> Iterator[dict]:
    for _, members in _member_pages(session, role_id, take):
        yield from members


def iter_members_of_roles(session: Auth0Session, role_ids: list[str], *, take: int) -> Iterator[tuple[str, list[dict]]]:
    """(role_id, page of members) for every role, the roles' pages interleaved as they arrive."""
    walks = (_member_pages(session, role_id, take) for role_id in role_ids)
    return interleave(walks, max_in_flight=walks_to_fill_the_bucket(session))


def _member_pages(session: Auth0Session, role_id: str, take: int) -> Iterator[tuple[str, list[dict]]]:
    checkpoint: str | None = None
    while True:
        body, _ = session.get_json(f"roles/{quote(role_id, safe='')}/users", {"take": take, "from": checkpoint})
        users = body.get("users", []) if isinstance(body, dict) else body
        yield role_id, users
        checkpoint = body.get("next") if isinstance(body, dict) else None
        if not checkpoint or not users:
            return
