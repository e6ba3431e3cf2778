"""Organizations (with members and member roles), connections and clients, as Auth0 serves them.

Shapes follow the Management API OpenAPI spec: organizations and members page by checkpoint
(`from`/`take`, `next` in the body) or by offset; a member's roles come with `fields=roles` (scope
read:organization_member_roles) or from /members/{user_id}/roles. Clients carry `client_secret`
and `signing_keys` only for a token with read:client_keys, as Auth0 does; connections' `options`
may hold an IdP's client secret. Changes made through this module are logged as `sapi` events on
/api/v2/organizations/... like Auth0 logs Management API writes.
"""

from __future__ import annotations

import base64
import random
import string
from bisect import bisect_right, insort
from typing import TYPE_CHECKING

from .errors import invalid_query, management_error
from .logevents import CLIENTS, MACHINE_CLIENT
from .paging import int_param, read_page, paged_body

if TYPE_CHECKING:
    from .management import Reply, Request
    from .tenant import SandboxTenant

_ALNUM = string.ascii_letters + string.digits
# Application type and first-party flag of the clients the synthetic log events name.
CLIENT_KINDS = {"Bridged Web": ("spa", True), "Bridged iOS": ("native", True),
                "Partner Portal": ("regular_web", False), "Bridged Sync (M2M)": ("non_interactive", True)}
# Which clients each connection is enabled for (by client name; every connection: the web app).
CONNECTION_CLIENTS = {"Username-Password-Authentication": ("Bridged Web", "Bridged iOS", "Partner Portal"),
                      "google-oauth2": ("Bridged Web", "Bridged iOS"), "github": ("Bridged Web",),
                      "acme-saml": ("Bridged Web", "Partner Portal"), "contoso-waad": ("Bridged Web",),
                      "sms": ("Bridged iOS",)}
ORG_PATH = "/api/v2/organizations"


def client_secret_for(client_id: str) -> str:
    """The sandbox's deterministic secret of a client: tests grep warehouses for it."""
    rng = random.Random("client-secret:" + client_id)
    return "sbx-client-secret-" + "".join(rng.choice(_ALNUM) for _ in range(40))


def make_clients() -> dict[str, dict]:
    clients = {}
    for client_id, name, *_ in [*CLIENTS, MACHINE_CLIENT]:
        app_type, first_party = CLIENT_KINDS.get(name, ("regular_web", True))
        clients[client_id] = {
            "client_id": client_id, "name": name, "app_type": app_type, "is_first_party": first_party,
            "tenant": "sandbox", "global": False, "callbacks": [], "grant_types": ["client_credentials"],
            "client_secret": client_secret_for(client_id),
            "signing_keys": [{"cert": "-----BEGIN CERTIFICATE-----\nMIIsandbox" + client_id[:8] + "\n-----END CERTIFICATE-----",
                              "pkcs7": "-----BEGIN PKCS7-----\nMIIsandbox\n-----END PKCS7-----",
                              "subject": "/CN=sandbox.auth0.test"}],
        }
    return clients


def connection_options(connection: dict) -> dict:
    """What Auth0 keeps in a connection's options: an IdP's client secret for social and enterprise."""
    if connection["strategy_type"] in ("social", "enterprise"):
        return {"client_id": "idp-" + connection["name"], "client_secret": client_secret_for("idp:" + connection["name"])}
    return {}


def encode_cursor(value: str) -> str:
    """A checkpoint `next`: opaque to the client, the last key served inside."""
    return base64.urlsafe_b64encode(f"after:{value}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except ValueError:
        text = ""
    if not text.startswith("after:"):
        raise invalid_query("Query validation error: 'Invalid from parameter' on property from")
    return text[len("after:"):]


def checkpoint(items: list, key, query: dict[str, str], body_key: str, render=lambda item: item) -> dict:
    """`from`/`take` over items sorted by key: {body_key: [...], "next": ...} (no next on the last page)."""
    take = int_param(query, "take", 50, minimum=1, maximum=100)
    after = decode_cursor(query.get("from"))
    keys = [key(item) for item in items]
    start = bisect_right(keys, after) if after is not None else 0
    chunk = items[start:start + take]
    body: dict = {body_key: [render(item) for item in chunk]}
    if start + take < len(items):
        body["next"] = encode_cursor(key(chunk[-1]))
    return body


def _field_picker(query: dict[str, str]):
    """`fields` (comma-separated) with `include_fields` (default true) as a function on each object."""
    fields = {f.strip() for f in (query.get("fields") or "").split(",") if f.strip()}
    include = (query.get("include_fields") or "true").lower() != "false"
    if not fields:
        return lambda item: item
    return lambda item: {k: v for k, v in item.items() if (k in fields) == include}


def _uses_checkpoint(query: dict[str, str]) -> bool:
    return "from" in query or "take" in query


class Organizations:
    """A tenant's organizations, their members (sorted user ids) and member roles."""

    def __init__(self, tenant: "SandboxTenant"):
        self.tenant = tenant
        self.by_id: dict[str, dict] = {}
        self.members: dict[str, list[str]] = {}
        self.member_roles: dict[tuple[str, str], list[str]] = {}

    def create(self, name: str, display_name: str | None = None, *, branding: dict | None = None,
               metadata: dict | None = None, silently: bool = False) -> dict:
        with self.tenant.lock:
            org_id = "org_" + "".join(self.tenant._rng.choice(_ALNUM) for _ in range(16))
            org = {"id": org_id, "name": name, "display_name": display_name or name}
            if branding is not None:
                org["branding"] = branding
            if metadata is not None:
                org["metadata"] = metadata
            self.by_id[org_id] = org
            self.members[org_id] = []
            if not silently:
                self.tenant._log_management_write("Create an Organization", "post", ORG_PATH, {"name": name})
            return dict(org)

    def add_members(self, org_id: str, user_ids, *, silently: bool = False) -> None:
        with self.tenant.lock:
            members = self.members[org_id]
            for uid in user_ids:
                if uid not in members:
                    insort(members, uid)
            if not silently:
                self.tenant._log_management_write("Add members to an organization", "post",
                                                  f"{ORG_PATH}/{org_id}/members", {"members": list(user_ids)})

    def remove_members(self, org_id: str, user_ids) -> None:
        with self.tenant.lock:
            gone = set(user_ids)
            self.members[org_id] = [uid for uid in self.members[org_id] if uid not in gone]
            for uid in user_ids:
                self.member_roles.pop((org_id, uid), None)
            self.tenant._log_management_write("Delete members from an organization", "delete",
                                              f"{ORG_PATH}/{org_id}/members", {"members": list(user_ids)})

    def assign_roles(self, org_id: str, user_id: str, role_ids, *, silently: bool = False) -> None:
        with self.tenant.lock:
            roles = self.member_roles.setdefault((org_id, user_id), [])
            roles.extend(r for r in role_ids if r not in roles)
            if not silently:
                self.tenant._log_management_write("Assign roles to an organization member", "post",
                                                  f"{ORG_PATH}/{org_id}/members/{user_id}/roles", {"roles": list(role_ids)})

    def roles_of(self, org_id: str, user_id: str) -> list[dict]:
        with self.tenant.lock:
            roles = [self.tenant.roles[r] for r in self.member_roles.get((org_id, user_id), ()) if r in self.tenant.roles]
        return sorted((dict(r) for r in roles), key=lambda r: (r["name"], r["id"]))


class DirectoryApi:
    """The read handlers for /organizations, /connections and /clients (routes in management.py)."""

    def __init__(self, tenant: "SandboxTenant", reply: type["Reply"]):
        self.tenant = tenant
        self.reply = reply

    def _org(self, org_id: str) -> dict:
        org = self.tenant.organizations.by_id.get(org_id)
        if org is None:
            raise management_error(404, "No organization found by that id or name", "inexistent_organization")
        return org

    def list_organizations(self, req: "Request", params: dict) -> "Reply":
        with self.tenant.lock:
            orgs = sorted((dict(o) for o in self.tenant.organizations.by_id.values()), key=lambda o: o["id"])
        if _uses_checkpoint(req.query):
            return self.reply(200, checkpoint(orgs, lambda o: o["id"], req.query, "organizations"))
        return self.reply(200, paged_body(orgs, read_page(req.query, cap=1000), "organizations", cap=None, with_length=False))

    def list_members(self, req: "Request", params: dict) -> "Reply":
        org_id = params["id"]
        fields = {f.strip() for f in (req.query.get("fields") or "").split(",") if f.strip()}
        with_roles = "roles" in fields
        if with_roles and "read:organization_member_roles" not in req.scopes:
            raise management_error(403, "Insufficient scope, expected any of: read:organization_member_roles",
                                   "insufficient_scope")
        with self.tenant.lock:
            self._org(org_id)
            members = list(self.tenant.organizations.members[org_id])
            users = self.tenant.users

        def render(uid: str) -> dict:
            user = users.get(uid, {})
            member = {"user_id": uid, **{k: user[k] for k in ("email", "name", "picture") if k in user}}
            if with_roles:
                member["roles"] = [{"id": r["id"], "name": r["name"]} for r in self.tenant.organizations.roles_of(org_id, uid)]
            return {k: v for k, v in member.items() if not fields or k in fields or k == "user_id"}

        if _uses_checkpoint(req.query):
            return self.reply(200, checkpoint(members, lambda uid: uid, req.query, "members", render))
        return self.reply(200, paged_body(members, read_page(req.query, cap=1000), "members", cap=None,
                                          with_length=False, render=render))

    def member_roles(self, req: "Request", params: dict) -> "Reply":
        with self.tenant.lock:
            self._org(params["id"])
        roles = self.tenant.organizations.roles_of(params["id"], params["user_id"])
        return self.reply(200, paged_body(roles, read_page(req.query, cap=None), "roles", cap=None, with_length=False))

    def list_connections(self, req: "Request", params: dict) -> "Reply":
        """`strategy` and `name` filter; `fields`/`include_fields` pick the fields, as in Auth0."""
        strategy, name = req.query.get("strategy"), req.query.get("name")
        with self.tenant.lock:
            connections = sorted(
                ({"id": c["id"], "name": c["name"], "display_name": c["name"], "strategy": c["strategy"],
                  "is_domain_connection": False, "realms": [c["name"]], "options": connection_options(c)}
                 for c in self.tenant.connections.values()
                 if strategy in (None, "", c["strategy"]) and name in (None, "", c["name"])),
                key=lambda c: c["id"])
        render = _field_picker(req.query)
        if _uses_checkpoint(req.query):
            return self.reply(200, checkpoint(connections, lambda c: c["id"], req.query, "connections", render))
        return self.reply(200, paged_body(connections, read_page(req.query, cap=None), "connections", cap=None,
                                          with_length=False, render=render))

    def connection_clients(self, req: "Request", params: dict) -> "Reply":
        connection = self.tenant.connection_by_id(params["id"])
        if connection is None:
            raise management_error(404, "The connection does not exist", "inexistent_connection")
        names = set(CONNECTION_CLIENTS.get(connection["name"], ("Bridged Web",)))
        enabled = sorted(c["client_id"] for c in self.tenant.clients.values() if c["name"] in names)
        return self.reply(200, checkpoint(enabled, lambda cid: cid, req.query, "clients", lambda cid: {"client_id": cid}))

    def list_clients(self, req: "Request", params: dict) -> "Reply":
        keys_ok = "read:client_keys" in req.scopes
        pick = _field_picker(req.query)

        def render(client: dict) -> dict:
            if not keys_ok:
                client = {k: v for k, v in client.items() if k not in ("client_secret", "signing_keys")}
            return pick(client)

        clients = sorted((dict(c) for c in self.tenant.clients.values()), key=lambda c: c["client_id"])
        if _uses_checkpoint(req.query):
            return self.reply(200, checkpoint(clients, lambda c: c["client_id"], req.query, "clients", render))
        return self.reply(200, paged_body(clients, read_page(req.query, cap=None), "clients", cap=None,
                                          with_length=False, render=render))


# (method, path pattern, rate-limit group, scopes: any of them, handler name)
DIRECTORY_ROUTES = [
    ("GET", r"/api/v2/organizations", "organizations", ("read:organizations", "read:organizations_summary"),
     "list_organizations"),
    ("GET", r"/api/v2/organizations/(?P<id>[^/]+)/members", "organizations", ("read:organization_members",),
     "list_members"),
    ("GET", r"/api/v2/organizations/(?P<id>[^/]+)/members/(?P<user_id>[^/]+)/roles", "organizations",
     ("read:organization_member_roles",), "member_roles"),
    ("GET", r"/api/v2/connections", "other", ("read:connections",), "list_connections"),
    ("GET", r"/api/v2/connections/(?P<id>[^/]+)/clients", "other", ("read:connections",), "connection_clients"),
    ("GET", r"/api/v2/clients", "other", ("read:clients", "read:client_keys", "read:client_summary"), "list_clients"),
]


def generate_organizations(tenant: "SandboxTenant", count: int, rng: random.Random) -> None:
    """`count` organizations, each with a share of the users as members and some member roles,
    created without log events (a generated tenant's history lies in the past)."""
    user_ids = sorted(tenant.users)
    role_ids = sorted(tenant.roles)
    for n in range(count):
        org = tenant.organizations.create(
            f"customer-{n + 1}", f"Customer {n + 1}", silently=True,
            branding={"logo_url": f"https://example.com/logo-{n + 1}.png", "colors": {"primary": "#0059d6", "page_background": "#ffffff"}},
            metadata={"plan": rng.choice(["starter", "growth", "enterprise"]), "seats": str(5 + int(rng.random() * 50))})
        members = [uid for uid in user_ids if rng.random() < 0.1]
        tenant.organizations.add_members(org["id"], members, silently=True)
        for uid in members:
            if role_ids and rng.random() < 0.3:
                tenant.organizations.assign_roles(org["id"], uid, [role_ids[int(rng.random() * len(role_ids))]], silently=True)
