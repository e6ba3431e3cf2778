"""The Management API writes that change a user's lifecycle: create, link, unlink, update, delete, roles.

Each answers with Auth0's status and shape and, like Auth0, leaves a `sapi` log event whose
`details.request` carries the method, the path and the body (secrets removed) and whose
`details.response.statusCode` the status. A deletion also writes `sdu`; a link does not (the
secondary account just disappears); a creation writes the sandbox's `ss`, as every new user does.
Scopes are the operation's in the Management API spec.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable

from .errors import ApiError, management_error, user_not_found
from .exports import strip_identity_secrets

if TYPE_CHECKING:
    from .management import Reply, Request
    from .tenant import SandboxTenant

# (method, path pattern, rate-limit group, scopes: any of them, handler name)
WRITE_ROUTES = [
    ("POST", r"/api/v2/users", "users", ("create:users",), "create_user"),
    ("POST", r"/api/v2/users/(?P<id>[^/]+)/identities", "users",
     ("update:users", "update:current_user_identities"), "link"),
    ("DELETE", r"/api/v2/users/(?P<id>[^/]+)/identities/(?P<provider>[^/]+)/(?P<user_id>[^/]+)", "users",
     ("update:users", "update:current_user_identities"), "unlink"),
    ("PATCH", r"/api/v2/users/(?P<id>[^/]+)", "users",
     ("update:users", "update:users_app_metadata", "update:current_user_metadata"), "update_user"),
    ("DELETE", r"/api/v2/users/(?P<id>[^/]+)", "users", ("delete:users", "delete:current_user"), "delete_user"),
    ("POST", r"/api/v2/users/(?P<id>[^/]+)/roles", "users", ("update:users", "create:role_members"),
     "grant_user_roles"),
    ("DELETE", r"/api/v2/users/(?P<id>[^/]+)/roles", "users", ("update:users", "delete:role_members"),
     "revoke_user_roles"),
    ("POST", r"/api/v2/roles/(?P<id>[^/]+)/users", "other", ("update:roles", "create:role_members"),
     "add_role_users"),
]
_LINK_KEYS = frozenset({"provider", "user_id", "connection_id", "link_with"})
#: What POST /api/v2/users stores of its body (the rest of _CREATE_KEYS are instructions).
_CREATE_PROFILE_KEYS = ("email", "email_verified", "username", "phone_number", "phone_verified", "given_name",
                        "family_name", "name", "nickname", "picture", "blocked", "user_metadata", "app_metadata")
_CREATE_KEYS = frozenset({*_CREATE_PROFILE_KEYS, "connection", "password", "user_id", "verify_email"})


def invalid_body(message: str) -> ApiError:
    return management_error(400, f"Payload validation error: '{message}'.", "invalid_body")


def role_not_found() -> ApiError:
    return management_error(404, "The role does not exist.", "inexistent_role")


def _json_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise invalid_body("Invalid JSON") from None
    if not isinstance(body, dict):
        raise invalid_body("Expected type object but found type " + type(body).__name__)
    return body


def _check_profile_types(body: dict) -> None:
    for key in ("blocked", "email_verified", "phone_verified"):
        if key in body and not isinstance(body[key], bool):
            raise invalid_body(f"Expected type boolean but found type {type(body[key]).__name__} on {key}")
    for key in ("user_metadata", "app_metadata"):
        if key in body and not isinstance(body[key], dict):
            raise invalid_body(f"Expected type object but found type {type(body[key]).__name__} on {key}")


def _id_list(body: dict, key: str) -> list[str]:
    values = body.get(key)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise invalid_body(f"Missing required property: {key} (a non-empty array of ids)")
    extra = set(body) - {key}
    if extra:
        raise invalid_body(f"Additional properties not allowed: {', '.join(sorted(extra))}")
    return values


class ManagementWrites:
    """Handlers `(Request, params) -> Reply`; `check_user_id` validates a path's user id."""

    def __init__(self, tenant: "SandboxTenant", reply: Callable[..., "Reply"],
                 check_user_id: Callable[[str], None]):
        self.tenant = tenant
        self._reply = reply
        self._check_user_id = check_user_id

    def _done(self, req: "Request", description: str, status: int, body, response=None) -> "Reply":
        self.tenant._log_management_write(description, req.method, req.path, body, status)
        return self._reply(status, response)

    @staticmethod
    def _identities(req: "Request", identities: list[dict]) -> list[dict]:
        if "read:user_idp_tokens" in req.scopes:
            return identities
        return strip_identity_secrets({"identities": identities})["identities"]

    # -- creation --------------------------------------------------------------------------------
    def create_user(self, req: "Request", params: dict) -> "Reply":
        """A user on a database connection (the sandbox creates no passwordless users): `auth0|`
        + the body's user_id or a new hex id, its email stored in lower case as Auth0 does."""
        body = _json_body(req.body)
        extra = set(body) - _CREATE_KEYS
        if extra:
            raise invalid_body(f"Additional properties not allowed: {', '.join(sorted(extra))}")
        connection = body.get("connection")
        if not isinstance(connection, str) or not connection:
            raise invalid_body("Missing required property: connection")
        _check_profile_types(body)
        for key in ("email", "password"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise invalid_body(f"Missing required property: {key}")
        if "user_id" in body and (not isinstance(body["user_id"], str) or not body["user_id"]):
            raise invalid_body("Expected a non-empty string on user_id")
        with self.tenant.lock:
            conn = self.tenant.connections.get(connection)
            if conn is None:
                raise management_error(400, "The connection does not exist.", "inexistent_connection")
            if conn["strategy"] != "auth0":
                raise invalid_body(f"the sandbox creates users on database connections only, not on "
                                   f"{connection} ({conn['strategy']})")
            email = body["email"].lower()  # what Auth0 stores, and so what it compares
            if any(other.get("email") == email
                   and (self.tenant.connection_for_user(other) or {}).get("name") == connection
                   for other in map(self.tenant.users.get, self.tenant.user_index.by_email(email))):
                raise management_error(409, "The user already exists.", "auth0_idp_error")
            identity_id = body.get("user_id") or self.tenant._random_hex(24)
            if f"auth0|{identity_id}" in self.tenant.users:
                raise management_error(409, "The user already exists.", "auth0_idp_error")
            profile = {k: body[k] for k in _CREATE_PROFILE_KEYS if k in body}
            profile.setdefault("email_verified", False)
            user = self.tenant.add_user({
                "user_id": f"auth0|{identity_id}", **profile,
                "identities": [{"connection": connection, "provider": "auth0", "user_id": identity_id,
                                "isSocial": False}]})
            rendered = strip_identity_secrets(user) if "read:user_idp_tokens" not in req.scopes else user
            return self._done(req, "Create a user", 201, body, rendered)

    # -- account linking -------------------------------------------------------------------------
    def link(self, req: "Request", params: dict) -> "Reply":
        primary_id = params["id"]
        self._check_user_id(primary_id)
        body = _json_body(req.body)
        extra = set(body) - _LINK_KEYS
        if extra:
            raise invalid_body(f"Additional properties not allowed: {', '.join(sorted(extra))}")
        if "link_with" in body:
            raise invalid_body("link_with (the secondary account's ID token) is not supported by the "
                               "sandbox; send provider and user_id")
        provider, user_id = body.get("provider"), body.get("user_id")
        if not isinstance(provider, str) or not provider or not isinstance(user_id, (str, int)):
            raise invalid_body("Missing required properties: provider, user_id")
        secondary_id = f"{provider}|{user_id}"
        if secondary_id == primary_id:
            raise management_error(400, "Main identity and the new one are the same.", "invalid_body")
        with self.tenant.lock:
            if primary_id not in self.tenant.users:
                raise user_not_found()
            if secondary_id not in self.tenant.users:
                raise management_error(400, f"The secondary account {secondary_id} does not exist.",
                                       "invalid_body")
            identities = self.tenant.link_identity(primary_id, secondary_id)
            return self._done(req, "Link a user account", 201, body, self._identities(req, identities))

    def unlink(self, req: "Request", params: dict) -> "Reply":
        primary_id = params["id"]
        self._check_user_id(primary_id)
        with self.tenant.lock:
            if primary_id not in self.tenant.users:
                raise user_not_found()
            try:
                remaining = self.tenant.unlink_identity(primary_id, params["provider"], params["user_id"])
            except LookupError:
                raise management_error(
                    400, f"The user has no linked identity {params['provider']}|{params['user_id']} "
                         "(the main identity cannot be unlinked).", "invalid_uri") from None
            return self._done(req, "Unlink a user account", 200, None, self._identities(req, remaining))

    # -- profile ---------------------------------------------------------------------------------
    def update_user(self, req: "Request", params: dict) -> "Reply":
        user_id = params["id"]
        self._check_user_id(user_id)
        body = _json_body(req.body)
        if body.get("user_id", user_id) != user_id:
            raise invalid_body("user_id cannot be changed")
        _check_profile_types(body)
        with self.tenant.lock:
            try:
                user = self.tenant.patch_user(user_id, body)
            except KeyError:
                raise user_not_found() from None
            rendered = strip_identity_secrets(user) if "read:user_idp_tokens" not in req.scopes else user
            return self._done(req, "Update a user", 200, body, rendered)

    def delete_user(self, req: "Request", params: dict) -> "Reply":
        user_id = params["id"]
        self._check_user_id(user_id)
        with self.tenant.lock:
            if user_id in self.tenant.users:  # Auth0 answers 204 for an unknown id as well
                self.tenant.delete_user(user_id)
            return self._done(req, "Delete a user", 204, None)

    # -- roles -----------------------------------------------------------------------------------
    def grant_user_roles(self, req: "Request", params: dict) -> "Reply":
        return self._user_roles(req, params, grant=True)

    def revoke_user_roles(self, req: "Request", params: dict) -> "Reply":
        return self._user_roles(req, params, grant=False)

    def _user_roles(self, req: "Request", params: dict, *, grant: bool) -> "Reply":
        user_id = params["id"]
        self._check_user_id(user_id)
        body = _json_body(req.body)
        role_ids = _id_list(body, "roles")
        with self.tenant.lock:
            if user_id not in self.tenant.users:
                raise user_not_found()
            if any(role_id not in self.tenant.roles for role_id in role_ids):
                raise role_not_found()
            for role_id in role_ids:
                change = self.tenant.add_role_members if grant else self.tenant.remove_role_members
                change(role_id, [user_id])
            description = "Assign roles to a user" if grant else "Removes roles from a user"
            return self._done(req, description, 204, body)

    def add_role_users(self, req: "Request", params: dict) -> "Reply":
        role_id = params["id"]
        body = _json_body(req.body)
        user_ids = _id_list(body, "users")
        with self.tenant.lock:
            if role_id not in self.tenant.roles:
                raise role_not_found()
            try:
                self.tenant.add_role_members(role_id, user_ids)
            except KeyError:
                raise user_not_found() from None
            return self._done(req, "Assign users to a role", 200, body)
