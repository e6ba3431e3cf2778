"""The emulated tenant: users, roles, log events, and the mutations tests drive.

Data is kept as plain dicts shaped exactly like Auth0's responses so a test can compare a warehouse
with `tenant.users` / `tenant.logs` directly. Stored user dicts are never changed in place: every
mutation stores a new dict (copy-on-write), which lets the server serialise responses and export
snapshots outside the lock without seeing half-applied changes.
"""

from __future__ import annotations

import copy
import random
import string
import threading
from bisect import bisect_left, bisect_right, insort
from datetime import datetime, timedelta
from typing import Callable

from .clock import epoch_ms, iso_from_epoch_ms, iso_ms, normalize_iso, utcnow
from .indexes import LogIndexes, UserIndexes
from .logevents import make_event
from .organizations import Organizations, make_clients

_PATCH_INSTRUCTIONS = frozenset({"password", "connection", "client_id", "verify_email",
                                 "verify_phone_number", "verify_password", "user_id"})
TIMESTAMP_FIELDS = ("created_at", "updated_at", "last_login", "last_password_reset",
                    "multifactor_last_modified")
#: What a linked identity's `profileData` carries of the account that was linked away.
PROFILE_DATA_FIELDS = ("email", "email_verified", "name", "username", "given_name", "family_name",
                       "nickname", "picture", "phone_number", "phone_verified")
#: Request-body keys never written into a `sapi` event (a password, the secondary account's JWT).
SECRET_BODY_KEYS = frozenset({"password", "link_with", "client_secret"})
#: What a checkpoint `from` older than the retention gets: Auth0 does not document it, so both.
EXPIRED_FROM_MODES = ("reject", "oldest")
_ALNUM = string.ascii_letters + string.digits

# name, strategy (= identity provider), strategy_type, isSocial
CONNECTIONS: list[tuple[str, str, str, bool]] = [
    ("Username-Password-Authentication", "auth0", "database", False),
    ("google-oauth2", "google-oauth2", "social", True),
    ("github", "github", "social", True),
    ("acme-saml", "samlp", "enterprise", False),
    ("contoso-waad", "waad", "enterprise", False),
    ("sms", "sms", "passwordless", False),
]


def _connection_id(name: str) -> str:
    """Stable `con_` + 16 alphanumerics for a connection name."""
    rng = random.Random("connection:" + name)
    return "con_" + "".join(rng.choice(_ALNUM) for _ in range(16))


def _auth0_is_idp(identity) -> bool:
    """True for an identity of a database connection (provider `auth0`): Auth0 is its identity
    provider, and so the one that stores its email."""
    return isinstance(identity, dict) and identity.get("provider") == "auth0"


def emails_as_auth0_stores_them(user: dict) -> dict:
    """Apply Auth0's rule for stored emails to `user` and return it. Every way a user enters the
    tenant (add_user, update_user, an unlinked account, the synthetic generator) passes here.

    Auth0 (Management API docs, "Search Users by Email"): "If Auth0 is the identify provider (idP),
    the email address associated with a user is saved in lower case, regardless of how you
    initially provided it [...] In cases where Auth0 is not the idP, the email is stored based on
    the rules of idP". So a database user's email (first identity's provider `auth0`; a user without
    identities goes by its `auth0|` id) and a linked database identity's `profileData.email` are
    lower-cased; social, enterprise and passwordless emails keep their case.

    Sets `user["email"]` in place; a changed identity list is replaced, never edited, as it may be
    shared with the stored version before (copy-on-write).
    """
    identities = user.get("identities")
    email = user.get("email")
    if isinstance(email, str) and email != email.lower() and (
            _auth0_is_idp(identities[0]) if identities else str(user.get("user_id", "")).startswith("auth0|")):
        user["email"] = email.lower()
    fixed = None
    for i, identity in enumerate(identities or ()):
        data = identity.get("profileData") if _auth0_is_idp(identity) else None
        linked_email = data.get("email") if isinstance(data, dict) else None
        if isinstance(linked_email, str) and linked_email != linked_email.lower():
            fixed = fixed or list(identities)
            fixed[i] = {**identity, "profileData": {**data, "email": linked_email.lower()}}
    if fixed is not None:
        user["identities"] = fixed
    return user


def log_id_for(stamp: str, seq: int) -> str:
    """Fixed-width numeric id: `900` + the canonical timestamp's digits + a sequence number.

    Lexicographic order is the order events were written in, as with Auth0's ids (a delayed
    event's id sorts after events dated later: see `_push_log`).
    """
    digits = stamp[0:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16] + stamp[17:19] \
        + stamp[20:23]
    return "900" + digits + "%036d" % seq


class SandboxTenant:
    """An Auth0 tenant in memory. All public methods are thread-safe."""

    def __init__(self, *, name: str = "sandbox.auth0.test", seed: int = 0):
        self.name = name
        self.lock = threading.RLock()
        self.users: dict[str, dict] = {}
        self.logs: list[dict] = []
        self.roles: dict[str, dict] = {}
        #: role id -> user ids, kept sorted by user id (the order role member listings use).
        self.role_members: dict[str, list[str]] = {}
        #: connection name -> {id, name, strategy, strategy_type, is_social}
        self.connections: dict[str, dict] = {
            n: {"id": _connection_id(n), "name": n, "strategy": s, "strategy_type": t,
                "is_social": social}
            for n, s, t, social in CONNECTIONS}
        #: client_id -> the application as GET /api/v2/clients returns it (secrets included).
        self.clients: dict[str, dict] = make_clients()
        #: Organizations, their members and member roles (sandbox/organizations.py).
        self.organizations = Organizations(self)
        #: Replace to control time: a callable returning an aware UTC datetime.
        self.clock: Callable[[], datetime] = utcnow
        #: Bumped on every change, so caches of query results know when to drop.
        self.users_version = 0
        self.logs_version = 0
        #: Set by expire_logs_before: events before it are gone.
        self.log_floor: str | None = None
        #: The plan's log retention (Starter 1 day … Enterprise 30); None keeps every event. Events
        #: older than it are dropped whenever logs are read.
        self.retention_days: float | None = None
        #: A checkpoint `from` older than the retention: "reject" answers 400, "oldest" silently
        #: starts at the oldest retained event.
        self.expired_from: str = "reject"
        #: User search is eventually consistent (FACTS: seconds; users-by-email and GET /users/{id}
        #: are not): a user's change reaches `GET /api/v2/users` this many seconds after it is made,
        #: or `slow_to_index[user_id]` seconds for that user (index delays vary). Until then search
        #: shows the user as before the change (absent when new, present when deleted).
        self.search_lag_seconds = 0.0
        self.slow_to_index: dict[str, float] = {}
        self._not_yet_searchable: dict[str, tuple[datetime, dict | None]] = {}
        #: Auth0 documents checkpoint pages of "0-100 logs": True answers at most half of `take`
        #: while more events remain, so a client that takes a short page for the end is caught.
        self.short_log_pages = False
        self._log_ids: list[str] = []
        self._log_seq = 0
        self._last_log_ms = 0
        #: True once an event was written after a later-dated one (a delayed event: Auth0 gives ids
        #: in write order, so date order and log_id order then differ).
        self.log_dates_out_of_order = False
        self._rng = random.Random(seed)
        self.user_index = UserIndexes()
        self.user_index.bind(self.users)
        self.log_index = LogIndexes()
        self.log_index.bind(self.logs)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def generate(cls, users: int = 3000, seed: int = 7, shared_timestamp_users: int = 0,
                 logs_per_user: int = 2, **options) -> "SandboxTenant":
        """A deterministic synthetic tenant; see synthetic.generate_tenant for the options."""
        from .synthetic import generate_tenant
        return generate_tenant(users=users, seed=seed,
                               shared_timestamp_users=shared_timestamp_users,
                               logs_per_user=logs_per_user, **options)

    @classmethod
    def demo(cls, users: int = 1000, seed: int = 7, **options) -> "SandboxTenant":
        """The tenant `make sync`, `make dev` and `bridged-auth0 sandbox` serve: the same users for the
        same size and seed, with activity up to a quarter of an hour ago (recent sign-ups, logins in
        the last days), so the playbooks have something to say today. 15 minutes, not 0: the roles
        stream treats a deletion logged in the last 5 minutes as possibly unseen and re-reads."""
        from datetime import timezone

        return cls.generate(users=users, seed=seed, anchor=datetime.now(timezone.utc) - timedelta(minutes=15), **options)

    # -- time ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def now_iso(self) -> str:
        return iso_ms(self.now())

    # -- helpers ---------------------------------------------------------------------------------
    def connection_for_user(self, user: dict) -> dict | None:
        identities = user.get("identities") or []
        if identities:
            return self.connections.get(identities[0].get("connection"))
        return None

    def connection_by_id(self, connection_id: str) -> dict | None:
        for conn in self.connections.values():
            if conn["id"] == connection_id:
                return conn
        return None

    def _random_hex(self, n: int) -> str:
        return "%0*x" % (n, self._rng.getrandbits(4 * n))

    def _default_identity(self, user_id: str) -> dict:
        provider, _, rest = user_id.partition("|")
        connection = {"auth0": "Username-Password-Authentication", "samlp": None,
                      "waad": "contoso-waad"}.get(provider, provider)
        if provider == "samlp" and "|" in rest:
            connection = rest.split("|", 1)[0]
        conn = self.connections.get(connection or "")
        identity_id: str | int = rest
        if provider == "github" and rest.isdigit():
            identity_id = int(rest)
        return {"connection": connection or provider, "provider": provider,
                "user_id": identity_id, "isSocial": bool(conn and conn["is_social"])}

    @staticmethod
    def _normalize_timestamps(profile: dict) -> None:
        for field in TIMESTAMP_FIELDS:
            value = profile.get(field)
            if isinstance(value, datetime):
                profile[field] = iso_ms(value)
            elif isinstance(value, str):
                try:
                    profile[field] = normalize_iso(value)
                except ValueError:
                    pass  # kept as given: the sandbox can serve a tenant with odd data too

    # -- users -----------------------------------------------------------------------------------
    def add_user(self, profile: dict) -> dict:
        """Create a user; fills user_id, identities, created_at and updated_at when absent. A
        database user's email is stored in lower case, as Auth0 stores it (emails_as_auth0_stores_them).

        Writes an `ss` (signup) log event. Returns a copy of the stored profile.
        """
        user = copy.deepcopy(dict(profile))
        with self.lock:
            if not user.get("user_id"):
                identities = user.get("identities")
                if identities:
                    first = identities[0]
                    user["user_id"] = f"{first['provider']}|{first['user_id']}"
                else:
                    user["user_id"] = "auth0|" + self._random_hex(24)
            uid = user["user_id"]
            if uid in self.users:
                raise ValueError(f"user {uid} already exists")
            user.setdefault("identities", [self._default_identity(uid)])
            now = self.now_iso()
            user.setdefault("created_at", now)
            user.setdefault("updated_at", now)
            self._normalize_timestamps(user)
            emails_as_auth0_stores_them(user)
            self._store_user(uid, None, user)
            self._append_log("ss", user=user, date=now)
            return copy.deepcopy(user)

    def update_user(self, user_id: str, **changes) -> dict:
        """Set top-level fields (a value of None removes the field, as Auth0 omits it). A database
        user's email is stored in lower case, as Auth0 stores it (emails_as_auth0_stores_them).

        Bumps updated_at to now unless `updated_at` is among the changes. Metadata objects are
        replaced, not merged: pass the whole new object.
        """
        with self.lock:
            old = self.users.get(user_id)
            if old is None:
                raise KeyError(user_id)
            if changes.get("user_id", user_id) != user_id:
                raise ValueError("user_id cannot be changed")
            new = dict(old)
            for key, value in changes.items():
                if value is None:
                    new.pop(key, None)
                else:
                    new[key] = copy.deepcopy(value)
            if "updated_at" not in changes:
                new["updated_at"] = self.now_iso()
            self._normalize_timestamps(new)
            emails_as_auth0_stores_them(new)
            self._store_user(user_id, old, new)
            return copy.deepcopy(new)

    def delete_user(self, user_id: str) -> None:
        """Remove the user and their role memberships; writes an `sdu` event for them."""
        with self.lock:
            old = self.users.get(user_id)
            if old is None:
                raise KeyError(user_id)
            self._drop_memberships(user_id)
            self._store_user(user_id, old, None)
            self._append_log("sdu", user=old, date=self.now_iso())

    def patch_user(self, user_id: str, body: dict) -> dict:
        """`PATCH /api/v2/users/{id}` semantics: a top-level null removes the field; metadata
        objects are merged one level deep (a null key removes it, `{}` clears the object).

        Keys that are instructions rather than profile fields (password, connection, ...) are not
        stored. Raises KeyError when the user does not exist.
        """
        changes: dict = {}
        with self.lock:
            old = self.users.get(user_id)
            if old is None:
                raise KeyError(user_id)
            for key, value in body.items():
                if key in _PATCH_INSTRUCTIONS:
                    continue
                if key in ("user_metadata", "app_metadata") and isinstance(value, dict):
                    merged = dict(old.get(key) or {}) if value else {}
                    for meta_key, meta_value in value.items():
                        if meta_value is None:
                            merged.pop(meta_key, None)
                        else:
                            merged[meta_key] = meta_value
                    value = merged or None  # an emptied object is removed, as Auth0 does with `{}`
                changes[key] = value
            return self.update_user(user_id, **changes)

    def link_identity(self, primary_id: str, secondary_id: str) -> list[dict]:
        """Link `secondary_id` into `primary_id` as Auth0 does: the secondary user disappears
        without an `sdu` event (and with its role memberships and metadata), its identities are
        appended to the primary's, the first with `profileData`; the primary's updated_at moves.

        Returns the primary's identities. KeyError names the missing user.
        """
        with self.lock:
            primary = self.users.get(primary_id)
            if primary is None:
                raise KeyError(primary_id)
            secondary = self.users.get(secondary_id)
            if secondary is None:
                raise KeyError(secondary_id)
            moved = [dict(identity) for identity in secondary.get("identities") or []]
            if moved:
                moved[0]["profileData"] = {k: secondary[k] for k in PROFILE_DATA_FIELDS if k in secondary}
            self._drop_memberships(secondary_id)
            self._store_user(secondary_id, secondary, None)
            linked = self.update_user(primary_id, identities=list(primary.get("identities") or []) + moved)
            return linked["identities"]

    def unlink_identity(self, primary_id: str, provider: str, identity_user_id: str) -> list[dict]:
        """Unlink a secondary identity: it leaves the primary's identities (whose updated_at moves)
        and becomes a new user of its own, built from its profileData, with no metadata (Auth0:
        "A new secondary user account is created"), so its created_at and updated_at are now.

        Returns the primary's remaining identities. KeyError: no such user; LookupError: the
        primary has no such secondary identity.
        """
        with self.lock:
            primary = self.users.get(primary_id)
            if primary is None:
                raise KeyError(primary_id)
            identities = list(primary.get("identities") or [])
            found = next((i for i, identity in enumerate(identities) if i > 0
                          and identity.get("provider") == provider
                          and str(identity.get("user_id")) == str(identity_user_id)), None)
            if found is None:
                raise LookupError(f"{provider}|{identity_user_id}")
            identity = dict(identities.pop(found))
            profile = identity.pop("profileData", None) or {}
            remaining = self.update_user(primary_id, identities=identities)["identities"]
            secondary_id = f"{identity['provider']}|{identity['user_id']}"
            if secondary_id not in self.users:
                now = self.now_iso()
                user = {"user_id": secondary_id, **{k: v for k, v in profile.items() if k in PROFILE_DATA_FIELDS},
                        "identities": [identity], "created_at": now, "updated_at": now}
                self._store_user(secondary_id, None, emails_as_auth0_stores_them(user))
            return remaining

    def _drop_memberships(self, user_id: str) -> None:
        """A user who stops existing (deleted, or linked into another) leaves its roles and its
        organizations, with its roles there."""
        for members in [*self.role_members.values(), *self.organizations.members.values()]:
            i = bisect_left(members, user_id)
            if i < len(members) and members[i] == user_id:
                del members[i]
        for org_and_user in [key for key in self.organizations.member_roles if key[1] == user_id]:
            del self.organizations.member_roles[org_and_user]

    def users_as_searched(self) -> list[dict] | None:
        """The users as user search sees them now, or None when that is every user as stored."""
        with self.lock:
            now = self.now()
            self._not_yet_searchable = {uid: pending for uid, pending in self._not_yet_searchable.items()
                                        if pending[0] > now}
            if not self._not_yet_searchable:
                return None
            seen = dict(self.users)
            for uid, (_, indexed) in self._not_yet_searchable.items():
                if indexed is None:
                    seen.pop(uid, None)
                else:
                    seen[uid] = indexed
            return list(seen.values())

    def _store_user(self, uid: str, old: dict | None, new: dict | None) -> None:
        lag = self.slow_to_index.get(uid, self.search_lag_seconds)
        if lag > 0:  # search keeps the version it last indexed until the lag has passed
            indexed = self._not_yet_searchable[uid][1] if uid in self._not_yet_searchable else old
            self._not_yet_searchable[uid] = (self.now() + timedelta(seconds=lag), indexed)
        if new is None:
            del self.users[uid]
        else:
            self.users[uid] = new
        self.user_index.change(uid, old, new)
        self.users_version += 1

    def users_by_email(self, email: str) -> list[dict]:
        """GET /users-by-email: the users whose email is exactly `email`. Auth0 matches it
        case-sensitively (unlike search v3's `email:`), so DANA@acme.io is not dana@acme.io."""
        with self.lock:
            found = [self.users[uid] for uid in self.user_index.by_email(email)
                     if self.users[uid].get("email") == email]
        return sorted(found, key=lambda u: u["user_id"])

    def snapshot_users(self) -> list[dict]:
        """The current user dicts (safe to read later: they are never mutated in place)."""
        with self.lock:
            return list(self.users.values())

    # -- logs ------------------------------------------------------------------------------------
    def add_log(self, type: str, user_id: str | None = None, **fields) -> dict:
        """Append an event of any `type`; `fields` override the generated ones (e.g. date=...)."""
        with self.lock:
            user = self.users.get(user_id) if user_id else None
            date = fields.pop("date", None)
            date = normalize_iso(date) if isinstance(date, str) else (
                iso_ms(date) if isinstance(date, datetime) else self.now_iso())
            event = self._append_log(type, user=user, date=date, user_id=user_id, extra=fields)
            return copy.deepcopy(event)

    def _append_log(self, type_: str, *, user: dict | None, date: str,
                    user_id: str | None = None, extra: dict | None = None) -> dict:
        date_ms = epoch_ms(datetime.fromisoformat(date.replace("Z", "+00:00")))
        connection = self.connection_for_user(user) if user else None
        event = make_event(type_, date, date_ms, self._rng, tenant_name=self.name, user=user,
                           connection=connection)
        if user is None and user_id:
            event["user_id"] = user_id
        if extra:
            event.update(copy.deepcopy(extra))
        return self._push_log(event, date_ms)

    def _push_log(self, event: dict, date_ms: int) -> dict:
        """Give `event` the next log id (never older than the last one) and append it.

        An event dated before the last one is a delayed event: it gets an id after the last one,
        as Auth0 gives ids in the order events are written, not by their date."""
        if date_ms >= self._last_log_ms:
            self._last_log_ms = date_ms
            stamp = event["date"] if isinstance(event.get("date"), str) else iso_from_epoch_ms(
                date_ms)
        else:
            stamp = iso_from_epoch_ms(self._last_log_ms)
            self.log_dates_out_of_order = True
        self._log_seq += 1
        event["log_id"] = log_id_for(stamp, self._log_seq)
        # log_id first, like Auth0's field order in exports and responses.
        ordered = {"log_id": event.pop("log_id"), **event}
        self.logs.append(ordered)
        self._log_ids.append(ordered["log_id"])
        self.log_index.appended(ordered)
        self.logs_version += 1
        return ordered

    def expire_logs_before(self, log_id: str) -> int:
        """Drop events older than `log_id` (retention). Returns how many were dropped."""
        with self.lock:
            cut = bisect_left(self._log_ids, log_id)
            del self.logs[:cut]
            del self._log_ids[:cut]
            if self.log_floor is None or log_id > self.log_floor:
                self.log_floor = log_id
            self.log_index.bind(self.logs)
            self.logs_version += 1
            return cut

    def enforce_retention(self) -> int:
        """Drop the events older than `retention_days` (none when unset). Returns how many."""
        if self.retention_days is None:
            return 0
        with self.lock:
            cutoff = log_id_for(iso_ms(self.now() - timedelta(days=self.retention_days)), 0)
            if not self._log_ids or self._log_ids[0] >= cutoff:
                return 0
            return self.expire_logs_before(cutoff)

    def log_from_is_expired(self, from_id: str) -> bool:
        """True when a checkpoint `from` lies before the oldest retained event."""
        with self.lock:
            self.enforce_retention()
            if self.log_floor is None:
                return False
            oldest = self._log_ids[0] if self._log_ids else self.log_floor
            return from_id < oldest

    def logs_after(self, from_id: str, take: int) -> list[dict]:
        with self.lock:
            self.enforce_retention()
            start = bisect_right(self._log_ids, from_id)
            if self.short_log_pages:
                take = max(1, take // 2)
            return self.logs[start:start + take]

    def get_log(self, log_id: str) -> dict | None:
        """The retained event with this id, or None (never existed, or past retention)."""
        with self.lock:
            self.enforce_retention()
            i = bisect_left(self._log_ids, log_id)
            return self.logs[i] if i < len(self._log_ids) and self._log_ids[i] == log_id else None

    def logs_for_user(self, user_id: str) -> list[dict]:
        with self.lock:
            return self.log_index.for_user(user_id)

    # -- roles -----------------------------------------------------------------------------------
    def add_role(self, name: str, description: str = "") -> dict:
        with self.lock:
            role = self.create_role_silently(name, description)
            self._log_management_write("Create a role", "post", "/api/v2/roles")
            return role

    def create_role_silently(self, name: str, description: str = "") -> dict:
        """A role with no `sapi` event: for generated tenants, whose history is anchored in the past."""
        with self.lock:
            if any(r["name"] == name for r in self.roles.values()):
                raise ValueError(f"role {name!r} already exists")
            role_id = "rol_" + "".join(self._rng.choice(_ALNUM) for _ in range(16))
            role = {"id": role_id, "name": name, "description": description}
            self.roles[role_id] = role
            self.role_members[role_id] = []
            self.users_version += 1
            return dict(role)

    def assign_role(self, role_id: str, user_ids) -> None:
        """Add members to a role, logged like `POST /api/v2/roles/{id}/users`."""
        if isinstance(user_ids, str):
            user_ids = [user_ids]
        with self.lock:
            self.add_role_members(role_id, user_ids)
            self._log_management_write("Assign users to a role", "post", f"/api/v2/roles/{role_id}/users")

    def add_role_members(self, role_id: str, user_ids) -> None:
        """Grant one role to users, without a log event (the API handler writes it). KeyError: a
        user or the role does not exist; nothing is changed then."""
        with self.lock:
            members = self.role_members[role_id]
            missing = [uid for uid in user_ids if uid not in self.users]
            if missing:
                raise KeyError(missing[0])
            for uid in user_ids:
                i = bisect_left(members, uid)
                if i == len(members) or members[i] != uid:
                    insort(members, uid)
            self.users_version += 1

    def remove_role_members(self, role_id: str, user_ids) -> None:
        """Revoke one role from users (absent members are ignored), without a log event."""
        with self.lock:
            members = self.role_members[role_id]
            for uid in user_ids:
                i = bisect_left(members, uid)
                if i < len(members) and members[i] == uid:
                    del members[i]
            self.users_version += 1

    def _log_management_write(self, description: str, method: str, path: str, body=None,
                              status: int = 200) -> dict:
        """Like Auth0, a Management API write leaves a `sapi` event whose details carry the
        request (method, path, body without secrets) and the response status."""
        request: dict = {"method": method.lower(), "path": path}
        if isinstance(body, dict):
            request["body"] = {k: v for k, v in body.items() if k not in SECRET_BODY_KEYS}
        elif body is not None:
            request["body"] = body
        with self.lock:
            return self._append_log("sapi", user=None, date=self.now_iso(), extra={
                "description": description,
                "details": {"request": request, "response": {"statusCode": status}}})

    def roles_of(self, user_id: str) -> list[dict]:
        with self.lock:
            found = []
            for role_id, members in self.role_members.items():
                i = bisect_left(members, user_id)
                if i < len(members) and members[i] == user_id:
                    found.append(self.roles[role_id])
            return sorted(found, key=lambda r: (r["name"], r["id"]))
