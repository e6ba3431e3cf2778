"""Organizations, their members (with their roles in the organization), connections and clients.

All use checkpoint paging (`from`/`take`, `next` in the body, none on the last page), which Auth0
requires past 1000 organizations or members. A member's roles come in the member list itself with
`fields=user_id,roles` (scope read:organization_member_roles): one walk per organization instead
of a request per member. Organizations requests go to their own rate-limit bucket (Essentials:
5 burst / 50 per minute), which the pacer keys by path (`rate_limit.bucket_key`).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from bridged_auth0_pipeline.auth0.in_flight import interleave, walks_to_fill_the_bucket
from bridged_auth0_pipeline.auth0.records import without_credentials
from bridged_auth0_pipeline.auth0.session import Auth0Session

# Only what the warehouse keeps is asked for: a client's secret and keys never leave Auth0 when it
# honours `fields`; `without_credentials` drops them anyway if they come.
CLIENT_FIELDS = "client_id,name,app_type,is_first_party"
CONNECTION_FIELDS = "id,name,display_name,strategy"


def checkpoint_pages(session: Auth0Session, path: str, key: str, take: int, params: dict | None = None) -> Iterator[list[dict]]:
    checkpoint: str | None = None
    while True:
        body, _ = session.get_json(path, {**(params or {}), "take": take, "from": checkpoint})
        records = body.get(key, []) if isinstance(body, dict) else body
        yield records
        checkpoint = body.get("next") if isinstance(body, dict) else None
        if not checkpoint or not records:
            return


def iter_organizations(session: Auth0Session, *, take: int) -> Iterator[dict]:
    for page in checkpoint_pages(session, "organizations", "organizations", take):
        yield from page


def iter_members_of_organizations(session: Auth0Session, org_ids: list[str], *, take: int) -> Iterator[tuple[str, list[dict]]]:
    """(org_id, page of {user_id, roles}) for every organization, pages interleaved as they arrive."""

    def walk(org_id: str) -> Iterator[tuple[str, list[dict]]]:
        path = f"organizations/{quote(org_id, safe='')}/members"
        for page in checkpoint_pages(session, path, "members", take, {"fields": "user_id,roles", "include_fields": "true"}):
            yield org_id, page

    return interleave((walk(org_id) for org_id in org_ids), max_in_flight=walks_to_fill_the_bucket(session))


def iter_connections(session: Auth0Session, *, take: int) -> Iterator[dict]:
    """Each connection with `enabled_clients` (its client ids), options (and their secrets) left out."""
    for page in checkpoint_pages(session, "connections", "connections", take,
                                 {"fields": CONNECTION_FIELDS, "include_fields": "true"}):
        for connection in page:
            connection = without_credentials(connection)
            path = f"connections/{quote(connection['id'], safe='')}/clients"
            enabled = [c["client_id"] for p in checkpoint_pages(session, path, "clients", take) for c in p]
            yield {**connection, "enabled_clients": enabled}


def iter_clients(session: Auth0Session, *, take: int) -> Iterator[dict]:
    for page in checkpoint_pages(session, "clients", "clients", take, {"fields": CLIENT_FIELDS, "include_fields": "true"}):
        for client in page:
            yield without_credentials(client)
