"""The Management API client the pipeline and the CLI use: one session, every endpoint we read."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

from bridged_auth0_pipeline.auth0 import exports, logs, organizations, roles, users
from bridged_auth0_pipeline.auth0.connection import Auth0Connection
from bridged_auth0_pipeline.auth0.errors import Auth0ConfigError
from bridged_auth0_pipeline.auth0.pagination import MAX_PAGE_SIZE, offset_pages
from bridged_auth0_pipeline.auth0.records import user_fields, without_idp_tokens
from bridged_auth0_pipeline.auth0.session import DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS, Auth0Session

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50  # Bridged's documented bulk limit: 50 records a request (for users); Auth0 itself allows 100
# Log events and role members always come 100 a request: Auth0's maximum `take` for both; Bridged's
# 50-record bulk limit is about users. Half the requests on the two longest walks (20k users, 2 events each:
# 727 log pages of 50 at the default page size, 400 of 100).
CHECKPOINT_TAKE = MAX_PAGE_SIZE


class Auth0Client:
    def __init__(self, session: Auth0Session, *, page_size: int = DEFAULT_PAGE_SIZE):
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise Auth0ConfigError(f"BRIDGED_PAGE_SIZE={page_size} is out of range. Fix: use 1–{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).")
        self.session = session
        self.page_size = page_size

    @classmethod
    def connect(
        cls,
        domain: str | None,
        client_id: str | None,
        client_secret: str | None,
        *,
        audience: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_rate_limit_wait_seconds: float = DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS,
        interactive: bool = False,
    ) -> "Auth0Client":
        connection = Auth0Connection.from_settings(domain, audience)
        session = Auth0Session(
            connection, client_id or "", client_secret or "", max_rate_limit_wait_seconds=max_rate_limit_wait_seconds,
            interactive=interactive,
        )
        return cls(session, page_size=page_size)

    def __enter__(self) -> "Auth0Client":
        return self

    def __exit__(self, *exc) -> None:
        self.session.close()

    @property
    def stats(self):
        return self.session.stats

    # users ---------------------------------------------------------------------------------------
    def get_user(self, user_id: str, fields: list[str] | None = None) -> dict:
        body, _ = self.session.get_json(f"users/{quote(user_id, safe='')}", _fields(fields))
        return without_idp_tokens(body)

    def users_by_email(self, email: str, fields: list[str] | None = None) -> list[dict]:
        body, _ = self.session.get_json("users-by-email", {"email": email, **_fields(fields)})
        return [without_idp_tokens(user) for user in body]

    def search_users_by_email(self, email: str, fields: list[str] | None = None) -> Iterator[dict]:
        """Users whose email is `email` in any case: search v3's `email:"…"` ignores case, unlike
        /users-by-email, but is eventually consistent (a user created or changed seconds ago may be
        missing). The address is a Lucene phrase: its backslashes and double quotes are escaped."""
        phrase = email.replace("\\", "\\\\").replace('"', '\\"')
        params = {"q": f'email:"{phrase}"', "search_engine": "v3", **_fields(fields)}
        for records, _ in offset_pages(self.session, "users", params, self.page_size, "users"):
            yield from (without_idp_tokens(user) for user in records)

    def users_updated_since(self, since: str | None, fields: list[str] | None = None) -> Iterator[dict]:
        """Every user with updated_at >= since (all users when None), complete past the cap."""

        def export_users_at(timestamp: str) -> Iterator[dict]:
            for line in self.export_user_lines(fields):
                try:
                    user = json.loads(line)
                except ValueError:
                    log.warning("Skipped an export line that is not valid JSON; the next full snapshot rejects it "
                                "with its text in auth0._rejected.")
                    continue
                if isinstance(user, dict) and user.get("updated_at") == timestamp:
                    yield user

        for user in users.iter_users_updated_since(
            self.session, since, per_page=self.page_size, fields=fields, export_users_at=export_users_at
        ):
            yield without_idp_tokens(user)

    def export_user_lines(self, fields: list[str] | None) -> exports.UsersExport:
        """A full snapshot through the users export job (one job instead of thousands of pages):
        NDJSON lines, IdP tokens removed, for DuckDB's JSON reader."""
        return exports.export_user_lines(self.session, fields or user_fields(include_metadata=True))

    def user_logs(self, user_id: str) -> Iterator[dict]:
        path = f"users/{quote(user_id, safe='')}/logs"
        for records, _ in offset_pages(self.session, path, {"sort": "date:-1"}, self.page_size, "logs"):
            yield from records

    # logs and roles ------------------------------------------------------------------------------
    def log_pages(self, after: str | None) -> Iterator[list[dict]]:
        return logs.iter_log_pages(self.session, after, take=CHECKPOINT_TAKE)

    def newest_log_id(self) -> str | None:
        """Where a walk that only needs the events from now on starts."""
        return logs.newest_event_id(self.session)

    def retained_log_event(self, log_id: str) -> dict | None:
        """The log event, or None when it is past the tenant's log retention (404)."""
        return logs.retained_event(self.session, log_id)

    def roles(self, name_filter: str | None = None) -> Iterator[dict]:
        return roles.iter_roles(self.session, per_page=self.page_size, name_filter=name_filter)

    def members_of_roles(self, role_ids: list[str]) -> Iterator[tuple[str, list[dict]]]:
        return roles.iter_members_of_roles(self.session, role_ids, take=CHECKPOINT_TAKE)

    def active_users(self) -> int:
        """Users who logged in during the last 30 days (`GET /api/v2/stats/active-users`, read:stats):
        the one size figure Auth0 gives without walking the users (search totals stop at 1000)."""
        count, _ = self.session.get_json("stats/active-users")
        return int(count)

    # organizations, connections, clients -------------------------------------------------------
    def organizations(self) -> Iterator[dict]:
        return organizations.iter_organizations(self.session, take=CHECKPOINT_TAKE)

    def members_of_organizations(self, org_ids: list[str]) -> Iterator[tuple[str, list[dict]]]:
        return organizations.iter_members_of_organizations(self.session, org_ids, take=CHECKPOINT_TAKE)

    def connections(self) -> Iterator[dict]:
        return organizations.iter_connections(self.session, take=CHECKPOINT_TAKE)

    def clients(self) -> Iterator[dict]:
        return organizations.iter_clients(self.session, take=CHECKPOINT_TAKE)


def _fields(fields: list[str] | None) -> dict[str, str]:
    return {"fields": ",".join(fields), "include_fields": "true"} if fields else {}
