"""The Management API v2 endpoints, as pure request -> (status, body) handlers: the reads the
pipeline makes here, the lifecycle writes (link, unlink, update, delete, roles) in writes.py.

The HTTP layer (server.py) does transport, faults, rate limits and authentication; this module only
knows Auth0's semantics: parameters, searches, ordering, caps and response shapes.
"""

from __future__ import annotations

import heapq
import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable
from urllib.parse import quote, unquote

from .clock import iso_ms
from .errors import (ApiError, invalid_query, management_error, query_validation,
                     user_not_found)
from .gcpause import paused_gc
from .exports import ExportJobs, SECRET_IDENTITY_KEYS, strip_identity_secrets
from .organizations import DIRECTORY_ROUTES, DirectoryApi
from .organizations import decode_cursor as _decode_cursor
from .organizations import encode_cursor as _encode_cursor
from .paging import SEARCH_CAP, int_param, bool_param, paged_body, read_page
from .search import Node, QueryError, parse_query, run_query
from .tenant import SandboxTenant
from .writes import WRITE_ROUTES, ManagementWrites

USER_SORT_FIELDS = frozenset({"created_at", "updated_at", "last_login", "email", "user_id",
                              "name", "nickname", "given_name", "family_name", "username",
                              "logins_count", "phone_number", "last_ip", "blocked",
                              "email_verified"})
LOG_SORT_FIELDS = frozenset({"date"})
ACTIVE_USERS_WINDOW = timedelta(days=30)  # "active users that logged in during the last 30 days"
_SORT_RE = re.compile(r"^([A-Za-z0-9_.]+):(1|-1)$")
_USER_ID_RE = re.compile(r"^[^|]+\|.+$")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    scopes: frozenset[str]
    base_url: str


@dataclass
class Reply:
    status: int
    body: object
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    group: str              # rate-limit bucket
    scopes: tuple[str, ...]
    require_all: bool
    handler: Callable


def _projector(query: dict[str, str]) -> Callable[[dict], dict]:
    """`fields` / `include_fields` (top-level names) as a function applied to each row."""
    raw = query.get("fields")
    include = bool_param(query, "include_fields", True)
    if not raw:
        return lambda doc: doc
    wanted = {f.strip() for f in raw.split(",") if f.strip()}
    return lambda doc: {k: v for k, v in doc.items() if (k in wanted) == include}


def _parse_sort(raw: str | None, allowed: frozenset[str], default: tuple[str, bool]):
    """`field:1|-1` -> (field, descending)."""
    if not raw:
        return default
    m = _SORT_RE.match(raw)
    if not m:
        raise query_validation(
            "String does not match pattern ^(([a-zA-Z0-9_\\\\.]+))\\\\:(1|-1)$", "sort")
    field, direction = m.group(1), m.group(2)
    if field not in allowed:
        raise invalid_query(f"Sorting by {field} is not allowed")
    return field, direction == "-1"


def _order_users(users: list[dict], field: str, descending: bool, limit: int) -> list[dict]:
    """The first `limit` users by field then user_id; users without the field come last.

    Only the first `limit` (the search cap) can ever be served, so a full sort is avoided.
    """
    present = [u for u in users if u.get(field) is not None]
    missing = [u for u in users if u.get(field) is None]

    def key(u: dict):
        return (type(u[field]).__name__, u[field], u["user_id"])

    pick = heapq.nlargest if descending else heapq.nsmallest
    ordered = pick(limit, present, key=key)
    if len(ordered) < limit:
        ordered += pick(limit - len(ordered), missing, key=lambda u: u["user_id"])
    return ordered


def _check_user_id(user_id: str) -> None:
    if not _USER_ID_RE.match(user_id):
        raise management_error(
            400, "Path validation error: 'String does not match pattern ^.+\\|.+$' on property "
                 "id (ID of the user, of the form provider|id).", "invalid_uri")


class ManagementApi:
    """Routes and handlers; one per server."""

    def __init__(self, tenant: SandboxTenant, exports: ExportJobs,
                 on_secrets_read: Callable[[str], None] | None = None):
        self.tenant = tenant
        self.exports = exports
        self.on_secrets_read = on_secrets_read
        self._cache: OrderedDict[tuple, tuple[int, list]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.routes = [
            self._route("GET", r"/api/v2/users", "users", ("read:users",), False, self.list_users),
            self._route("GET", r"/api/v2/users-by-email", "users", ("read:users",), False,
                        self.users_by_email),
            self._route("GET", r"/api/v2/users/(?P<id>[^/]+)", "users", ("read:users",), False,
                        self.get_user),
            self._route("GET", r"/api/v2/users/(?P<id>[^/]+)/logs", "logs",
                        ("read:logs", "read:logs_users"), False, self.user_logs),
            self._route("GET", r"/api/v2/users/(?P<id>[^/]+)/roles", "users",
                        ("read:users", "read:roles"), True, self.user_roles),
            self._route("GET", r"/api/v2/logs", "logs", ("read:logs", "read:logs_users"), False,
                        self.list_logs),
            self._route("GET", r"/api/v2/roles", "other", ("read:roles",), False,
                        self.list_roles),
            self._route("GET", r"/api/v2/roles/(?P<id>[^/]+)/users", "other",
                        ("read:users", "read:roles"), True, self.role_users),
            self._route("POST", r"/api/v2/jobs/users-exports", "other", ("read:users",), False,
                        self.create_export),
            self._route("GET", r"/api/v2/jobs/(?P<id>[^/]+)", "other",
                        ("read:users", "create:users"), False, self.get_job),
            self._route("GET", r"/api/v2/logs/(?P<id>[^/]+)", "logs", ("read:logs", "read:logs_users"),
                        False, self.get_log),
            self._route("GET", r"/api/v2/stats/active-users", "other", ("read:stats",), False,
                        self.active_users),
        ]
        writes = ManagementWrites(tenant, Reply, _check_user_id)
        self.routes += [self._route(method, pattern, group, scopes, False, getattr(writes, name))
                        for method, pattern, group, scopes, name in WRITE_ROUTES]
        directory = DirectoryApi(tenant, Reply)
        self.routes += [self._route(method, pattern, group, scopes, False, getattr(directory, name))
                        for method, pattern, group, scopes, name in DIRECTORY_ROUTES]

    @staticmethod
    def _route(method, pattern, group, scopes, require_all, handler) -> Route:
        return Route(method, re.compile(pattern + r"/?"), group, scopes, require_all, handler)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a path (None: 404). Path parameters come back percent-decoded."""
        for route in self.routes:
            m = route.pattern.fullmatch(path)
            if m and route.method == method:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    # -- shared helpers --------------------------------------------------------------------------
    def _cached(self, key: tuple, version: int, compute: Callable[[], list]) -> list:
        """Query results per tenant version, so paging through one query does not re-run it."""
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit and hit[0] == version:
                self._cache.move_to_end(key)
                return hit[1]
        with paused_gc():
            result = compute()
        with self._cache_lock:
            self._cache[key] = (version, result)
            self._cache.move_to_end(key)
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return result

    @staticmethod
    def _parse_q(text: str | None) -> Node:
        try:
            return parse_query(text)
        except QueryError as exc:
            raise invalid_query(f"Query validation error: '{exc}' on property q") from None

    def _user_renderer(self, req: Request) -> Callable[[dict], dict]:
        secrets_ok = "read:user_idp_tokens" in req.scopes
        project = _projector(req.query)
        seen_secret = [False]

        def render(user: dict) -> dict:
            if not secrets_ok:
                user = strip_identity_secrets(user)
            elif not seen_secret[0] and any(
                    k in i for i in user.get("identities") or () for k in SECRET_IDENTITY_KEYS):
                seen_secret[0] = True
                if self.on_secrets_read:
                    self.on_secrets_read(req.path)
            return project(user)
        return render

    # -- users -----------------------------------------------------------------------------------
    def list_users(self, req: Request, params: dict) -> Reply:
        engine = req.query.get("search_engine")
        if engine == "v1":
            raise invalid_query("You are not allowed to use search_engine=v1.")
        if engine == "v2":
            raise invalid_query("You are not allowed to use search_engine=v2. "
                                "Use search_engine=v3 instead.")
        if engine not in (None, "", "v3"):
            raise query_validation(f'No enum match for: "{engine}"', "search_engine")
        query = self._parse_q(req.query.get("q"))
        field, descending = _parse_sort(req.query.get("sort"), USER_SORT_FIELDS,
                                        ("user_id", False))
        page = read_page(req.query, cap=SEARCH_CAP)
        tenant = self.tenant

        def compute() -> list:
            with tenant.lock:
                found = run_query(query, tenant.users.values(), tenant.user_index)
            return _order_users(found, field, descending, SEARCH_CAP)

        as_searched = tenant.users_as_searched()  # changes search does not see yet (eventual consistency)
        if as_searched is not None:
            users = _order_users(run_query(query, as_searched), field, descending, SEARCH_CAP)
        else:
            users = self._cached(("users", req.query.get("q") or "", field, descending),
                                 tenant.users_version, compute)
        return Reply(200, paged_body(users, page, "users", cap=SEARCH_CAP, with_length=True,
                                     render=self._user_renderer(req)))

    def users_by_email(self, req: Request, params: dict) -> Reply:
        email = req.query.get("email")
        if not email:
            raise query_validation("Missing required property: email", "email")
        render = self._user_renderer(req)
        return Reply(200, [render(u) for u in self.tenant.users_by_email(email)])

    def get_user(self, req: Request, params: dict) -> Reply:
        user_id = params["id"]
        _check_user_id(user_id)
        with self.tenant.lock:
            user = self.tenant.users.get(user_id)
        if user is None:
            raise user_not_found()
        return Reply(200, self._user_renderer(req)(user))

    def user_logs(self, req: Request, params: dict) -> Reply:
        user_id = params["id"]
        _check_user_id(user_id)
        _, descending = _parse_sort(req.query.get("sort"), LOG_SORT_FIELDS, ("date", True))
        page = read_page(req.query, cap=SEARCH_CAP)
        events = self.tenant.logs_for_user(user_id)
        if descending:
            events.reverse()
        return Reply(200, paged_body(events, page, "logs", cap=SEARCH_CAP, with_length=True,
                                     render=_projector(req.query)))

    def user_roles(self, req: Request, params: dict) -> Reply:
        user_id = params["id"]
        _check_user_id(user_id)
        with self.tenant.lock:
            if user_id not in self.tenant.users:
                raise user_not_found()
        roles = [dict(r) for r in self.tenant.roles_of(user_id)]
        page = read_page(req.query, cap=None)
        return Reply(200, paged_body(roles, page, "roles", cap=None, with_length=False))

    # -- logs ------------------------------------------------------------------------------------
    def list_logs(self, req: Request, params: dict) -> Reply:
        self.tenant.enforce_retention()
        if "from" in req.query:
            return self._logs_checkpoint(req)
        query_text = req.query.get("q") or req.query.get("search")
        query = self._parse_q(query_text)
        _, descending = _parse_sort(req.query.get("sort"), LOG_SORT_FIELDS, ("date", True))
        paging_query = dict(req.query)
        if "take" in req.query and "per_page" not in req.query:
            paging_query["per_page"] = req.query["take"]
        page = read_page(paging_query, cap=SEARCH_CAP)
        tenant = self.tenant

        def compute() -> list:
            # The events are kept in log_id order. While that is also date order, the first (or
            # last) SEARCH_CAP matches are the answer, without collecting every match; after a
            # delayed event (tenant.log_dates_out_of_order) every match is sorted by date.
            with tenant.lock:
                if not tenant.log_dates_out_of_order:
                    found = run_query(query, tenant.logs, tenant.log_index, limit=SEARCH_CAP, from_end=descending)
                else:
                    found = sorted(run_query(query, tenant.logs, tenant.log_index),
                                   key=lambda event: (str(event.get("date")), event["log_id"]))
                    found = found[-SEARCH_CAP:] if descending else found[:SEARCH_CAP]
            return found[::-1] if descending else found

        events = self._cached(("logs", query_text or "", descending), tenant.logs_version,
                              compute)
        return Reply(200, paged_body(events, page, "logs", cap=SEARCH_CAP, with_length=True,
                                     render=_projector(req.query)))

    def _logs_checkpoint(self, req: Request) -> Reply:
        """`from` + `take`: events after `from` in id order, with a Link to the next page. As in
        Auth0, every other parameter (q, sort, fields, include_fields) is ignored."""
        start = req.query.get("from") or ""
        take = int_param(req.query, "take", 50, minimum=1, maximum=100)
        if self.tenant.log_from_is_expired(start):
            if self.tenant.expired_from != "oldest":
                raise invalid_query("The 'from' log_id is older than the log retention period of "
                                    "this tenant.")
            start = ""  # the other possible answer: silently from the oldest retained event
        events = self.tenant.logs_after(start, take)
        next_from = events[-1]["log_id"] if events else start
        link = (f'<{req.base_url}/api/v2/logs?from={quote(next_from, safe="")}&take={take}>; '
                f'rel="next"')
        return Reply(200, list(events), {"Link": link})

    def get_log(self, req: Request, params: dict) -> Reply:
        """One event by id; 404 once it is past the retention (or never existed)."""
        event = self.tenant.get_log(params["id"])
        if event is None:
            raise management_error(404, "Log not found.", "inexistent_log")
        return Reply(200, _projector(req.query)(event))

    # -- stats -----------------------------------------------------------------------------------
    def active_users(self, req: Request, params: dict) -> Reply:
        """`GET /api/v2/stats/active-users`: users who logged in during the last 30 days, as a bare
        JSON number (the spec's GetActiveUsersCountStatsResponseContent)."""
        since = iso_ms(self.tenant.now() - ACTIVE_USERS_WINDOW)
        with self.tenant.lock:
            # Stored timestamps are canonical ISO strings, so they compare as text.
            count = sum(1 for user in self.tenant.users.values() if (user.get("last_login") or "") >= since)
        return Reply(200, count)

    # -- roles -----------------------------------------------------------------------------------
    def list_roles(self, req: Request, params: dict) -> Reply:
        name_filter = (req.query.get("name_filter") or "").casefold()
        with self.tenant.lock:
            roles = [dict(r) for r in self.tenant.roles.values()
                     if name_filter in r["name"].casefold()]
        roles.sort(key=lambda r: (r["name"], r["id"]))
        page = read_page(req.query, cap=None)
        return Reply(200, paged_body(roles, page, "roles", cap=None, with_length=False))

    def role_users(self, req: Request, params: dict) -> Reply:
        role_id = params["id"]
        with self.tenant.lock:
            if role_id not in self.tenant.roles:
                raise management_error(404, "The role does not exist.", "inexistent_role")
            members = list(self.tenant.role_members.get(role_id, ()))
            users = self.tenant.users

            def member(uid: str) -> dict:
                user = users.get(uid, {"user_id": uid})
                return {k: user[k] for k in ("user_id", "email", "picture", "name") if k in user}

            if "from" in req.query or "take" in req.query:
                take = int_param(req.query, "take", 50, minimum=1, maximum=100)
                after = _decode_cursor(req.query.get("from"))
                start = bisect_right(members, after) if after is not None else 0
                chunk = members[start:start + take]
                body: dict = {"users": [member(uid) for uid in chunk]}
                if start + take < len(members):
                    body["next"] = _encode_cursor(chunk[-1])
                return Reply(200, body)
            page = read_page(req.query, cap=SEARCH_CAP)
            return Reply(200, paged_body(members, page, "users", cap=None, with_length=False,
                                         render=member))

    # -- export jobs -----------------------------------------------------------------------------
    def create_export(self, req: Request, params: dict) -> Reply:
        return Reply(201, self.exports.create(req.body, req.scopes))

    def get_job(self, req: Request, params: dict) -> Reply:
        return Reply(200, self.exports.status(params["id"], req.base_url))


__all__ = ["ApiError", "ManagementApi", "Reply", "Request", "Route"]
