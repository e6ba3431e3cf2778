"""`bridged-auth0 user <user_id | email>`: "What is this user's authentication method?"

The support agent's question, answered live: the profile from /api/v2/users/{id} (or every account
with that address in any case, from /api/v2/users-by-email and the user search), its `identities`
array explained for a support agent, and the user's latest log events (/api/v2/users/{id}/logs) for
how they last signed in and for MFA evidence. Method types and the MFA rule follow the
auth0.user_auth_methods view: the type of the identity's connection when the tenant's connections
can be read (/api/v2/connections, optional scope read:connections; the connection's strategy looked
up in sql/seeds/identity_providers.csv, as loads/connections.sql does), else auth0 → database,
sms/email → passwordless, otherwise social or enterprise by isSocial (sql/seeds/method_types.csv
says which types the provider settles); MFA is enrolled when the profile's `multifactor` lists a
factor or the newest log event that is MFA evidence (sql/seeds/log_event_types.csv) proves an
enrolled factor rather than its removal.

Exit codes: 0 answered, 1 no such user, 2 the identifier or the configuration is wrong (cli.py
prints other Auth0 errors with exit 2). Nothing printed ever contains the client secret or a token.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from datetime import datetime, timezone
from functools import cache

from bridged_auth0_pipeline.auth0 import (
    Auth0AuthorizationError,
    Auth0BadRequestError,
    Auth0Client,
    Auth0NotFoundError,
)
from bridged_auth0_pipeline.auth0.error_mapping import USER_ID_FORMAT
from bridged_auth0_pipeline.auth0.organizations import checkpoint_pages
from bridged_auth0_pipeline.auth0.pagination import MAX_PAGE_SIZE
from bridged_auth0_pipeline.auth0.timestamps import parse_timestamp
from bridged_auth0_pipeline.store.sql_files import read_sql

FIELDS = ["user_id", "email", "email_verified", "phone_number", "name", "identities", "multifactor",
          "last_login", "logins_count", "blocked"]

# newest log events read per account: enough for the latest login and MFA event of almost anyone
MAX_LOG_EVENTS = 100

# Provider → method type and label, the table the views and auth0.connections use too.
IDENTITY_PROVIDERS = "seeds/identity_providers.csv"
# Log event type → category (login_success, …) and MFA evidence (enrolled, unenrolled), the table the
# warehouse loads and the views read.
LOG_EVENT_TYPES = "seeds/log_event_types.csv"
# Method type → whether the provider settles it or the identity's isSocial does, and its words.
METHOD_TYPES = "seeds/method_types.csv"


def _seed(path: str, key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in csv.DictReader(io.StringIO(read_sql(path)))}


@cache
def identity_providers() -> dict[str, dict[str, str]]:
    return _seed(IDENTITY_PROVIDERS, "provider")


@cache
def log_event_types() -> dict[str, dict[str, str]]:
    return _seed(LOG_EVENT_TYPES, "code")


@cache
def method_types() -> dict[str, dict[str, str]]:
    return _seed(METHOD_TYPES, "method_type")


def _event_class(event: dict, column: str) -> str:
    """The event type's `category` or `mfa_evidence` in the seed ('' for an unknown type or no evidence)."""
    return log_event_types().get(event.get("type"), {}).get(column) or ""


def method_type(identity: dict, connection_types: dict[str, str | None] | None = None) -> str | None:
    """auth0.user_auth_methods' rule: the method type of the identity's connection when it is known
    (`connection_types`: read_connection_types), else the provider's when the provider settles it,
    else social or enterprise by isSocial; None when nothing says."""
    by_connection = (connection_types or {}).get(identity.get("connection"))
    if by_connection is not None:
        return by_connection
    known = identity_providers().get(identity.get("provider"))
    if known and method_types().get(known["method_type"], {}).get("decided_by") == "provider":
        return known["method_type"]
    if identity.get("isSocial") is None:
        return None
    return "social" if identity.get("isSocial") else "enterprise"


def label(provider: str | None, kind: str | None) -> str:
    if provider in identity_providers():
        return identity_providers()[provider]["label"]
    if kind == "enterprise":
        return f"{provider} single sign-on"
    return str(provider)


def _method(provider: str | None, connection: str | None, kind: str | None) -> dict:
    return {"provider": provider, "connection": connection, "type": kind, "label": label(provider, kind)}


def read_connection_types(client: Auth0Client) -> tuple[dict[str, str | None] | None, str | None]:
    """Connection name → the method type of its strategy (sql/seeds/identity_providers.csv; None for a
    strategy the seed lacks), as loads/connections.sql types auth0.connections; (None, why) when the
    connections cannot be read."""
    params = {"fields": "name,strategy", "include_fields": "true"}
    try:
        return {connection["name"]: identity_providers().get(connection.get("strategy"), {}).get("method_type")
                for page in checkpoint_pages(client.session, "connections", "connections", MAX_PAGE_SIZE, params)
                for connection in page if isinstance(connection, dict) and connection.get("name")}, None
    except Auth0AuthorizationError:
        return None, ("the connections could not be read (the application lacks the read:connections scope), "
                      "so an identity that does not say whether it is social has no type: grant read:connections "
                      "to type it by its connection's strategy")


def read_events(client: Auth0Client, user_id: str) -> tuple[list[dict] | None, str | None]:
    """The user's newest log events, newest first; (None, why) when they cannot be read."""
    events: list[dict] = []
    try:
        for event in client.user_logs(user_id):
            events.append(event)
            if len(events) >= MAX_LOG_EVENTS:
                break
    except Auth0AuthorizationError:
        return None, "the login history could not be read (the application lacks the read:logs scope)"
    events = [e for e in events if isinstance(e, dict) and parse_timestamp(e.get("date"))]
    events.sort(key=lambda e: (parse_timestamp(e["date"]), str(e.get("log_id") or "")), reverse=True)
    return events, None


def describe(user: dict, events: list[dict] | None = None, events_note: str | None = None, *,
             connection_types: dict[str, str | None] | None = None, connections_note: str | None = None) -> dict:
    """The answer for one account, as plain data (what --json prints). `connections_note` (why the
    connections could not be read) is told when an identity is left without a type."""
    identities = [identity for identity in user.get("identities") or [] if isinstance(identity, dict)]
    methods = [
        {**_method(identity.get("provider"), identity.get("connection"), method_type(identity, connection_types)),
         "primary": index == 0}
        for index, identity in enumerate(identities)
    ]
    notes = [events_note] if events_note else []
    if connections_note and any(method["type"] is None for method in methods):
        notes.append(connections_note)

    last_login_method = None
    mfa_event = None
    for event in events or []:
        if last_login_method is None and _event_class(event, "category") == "login_success":
            # the event's strategy is the provider; without it, the identity on the same connection
            same = next((m for m in methods if m["connection"] == event.get("connection")), None)
            provider = event.get("strategy") or (same or {}).get("provider")
            kind = str(event.get("strategy_type") or "").lower()
            if kind not in method_types():
                kind = (same or {}).get("type")
            last_login_method = {**_method(provider, event.get("connection"), kind), "at": event.get("date")}
        if mfa_event is None and _event_class(event, "mfa_evidence"):
            mfa_event = event
    if events is not None and last_login_method is None and user.get("last_login"):
        notes.append("no login event in the recent log history (Auth0 keeps logs 1 to 30 days, by plan)")

    factors = [str(f) for f in user.get("multifactor") or []]
    if factors:
        mfa_enrolled, mfa_source = True, "profile"
    elif mfa_event is not None and _event_class(mfa_event, "mfa_evidence") == "enrolled":
        mfa_enrolled, mfa_source = True, "log_event"
    else:
        mfa_enrolled, mfa_source = False, None

    profile_login, event_login = parse_timestamp(user.get("last_login")), parse_timestamp((last_login_method or {}).get("at"))
    last_login = user.get("last_login")
    if event_login and (profile_login is None or event_login > profile_login):
        last_login = last_login_method["at"]
    return {
        "user_id": user.get("user_id"),
        "name": user.get("name"),
        "email": user.get("email"),
        "email_verified": user.get("email_verified"),
        "phone_number": user.get("phone_number"),
        "primary_method": methods[0] if methods else None,
        "methods": methods,
        "last_login": last_login,
        "last_login_method": last_login_method,
        "logins_count": user.get("logins_count"),
        "mfa_enrolled": mfa_enrolled,
        "mfa_factors": factors,
        "mfa_evidence": mfa_source,
        "blocked": bool(user.get("blocked")),
        "notes": notes,
    }


def _when(value: str | None, now: datetime) -> str:
    moment = parse_timestamp(value)
    if moment is None:
        return str(value)
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 3600:
        ago = f"{math.floor(seconds / 60)} min ago"
    elif seconds < 86400:
        hours = math.floor(seconds / 3600)
        ago = f"{hours} hour{'s' if hours != 1 else ''} ago"
    else:
        days = math.floor(seconds / 86400)
        ago = f"{days} day{'s' if days != 1 else ''} ago"
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC, {ago}"


def _method_text(method: dict) -> str:
    kind = method_types().get(method["type"], {}).get("words", "type unknown")
    return f"{method['label']} ({kind}, connection {method['connection']})"


def render(answer: dict, now: datetime | None = None) -> str:
    """The answer for a support agent: one headline sentence, then the details."""
    now = now or datetime.now(timezone.utc)
    who = answer["name"] or answer["email"] or answer["phone_number"] or answer["user_id"]
    primary = answer["primary_method"]
    others = answer["methods"][1:]
    if primary is None:
        headline = f"{who} has no login method in the profile (empty identities array)."
    else:
        headline = f"{who} signs in with {primary['label']}"
        if others:
            headline += " and can also use " + " or ".join(m["label"] for m in others)
        headline += "."
    lines = [headline, f"  User id         {answer['user_id']}"]
    if answer["email"]:
        lines.append(f"  Email           {answer['email']} ({'verified' if answer['email_verified'] else 'NOT verified'})")
    if answer["phone_number"]:
        lines.append(f"  Phone           {answer['phone_number']}")
    if primary is not None:
        lines.append(f"  Signs in with   {_method_text(primary)}, the primary identity")
    for method in others:
        lines.append(f"  Also linked     {_method_text(method)}")
    if answer["last_login"]:
        count = answer["logins_count"]
        total = f", {count} login{'s' if count != 1 else ''} in total" if isinstance(count, int) else ""
        lines.append(f"  Last login      {_when(answer['last_login'], now)}{total}")
    else:
        lines.append("  Last login      never")
    method = answer["last_login_method"]
    if method is not None:
        older = parse_timestamp(method["at"]) != parse_timestamp(answer["last_login"])
        since = f", as of the latest login event: {_when(method['at'], now)}" if older else ""
        lines.append(f"  Last login via  {_method_text(method)}{since}")
    if answer["mfa_evidence"] == "profile":
        mfa = f"enrolled ({', '.join(answer['mfa_factors'])})"
    elif answer["mfa_evidence"] == "log_event":
        mfa = "enrolled (seen in the MFA log events; the profile lists no factor)"
    else:
        mfa = "not enrolled"
    lines.append(f"  MFA             {mfa}")
    if answer["blocked"]:
        lines.append("  Blocked         yes: the user cannot log in until an administrator unblocks the account")
    lines += [f"  Note            {note}" for note in answer["notes"]]
    return "\n".join(lines)


def find_by_email(client: Auth0Client, email: str) -> list[dict]:
    """Every account with the address in any case, sorted by user_id. /users-by-email is
    case-sensitive but immediately consistent: asked for the address as typed and in lower case (how
    Auth0 stores database users' emails). Social and enterprise accounts may keep another case
    (DANA@acme.io): the user search, case-insensitive but eventually consistent, finds those."""
    found: dict[str, dict] = {}
    for address in dict.fromkeys([email, email.lower()]):
        for user in client.users_by_email(address, FIELDS):
            found.setdefault(str(user.get("user_id")), user)
    for user in client.search_users_by_email(email, FIELDS):
        found.setdefault(str(user.get("user_id")), user)
    return [found[user_id] for user_id in sorted(found)]


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def answer_user(identifier: str, client: Auth0Client, *, as_json: bool = False) -> int:
    """Answer for `identifier` with `client` (the caller's tenant); closes the client."""
    identifier = identifier.strip()
    # enterprise user ids often contain an email (samlp|acme|jane@acme.io): a '|' makes it an id
    by_email = "|" not in identifier and "@" in identifier
    if not by_email and "|" not in identifier:
        return _fail(
            f"Wrong user ID format: {identifier!r} is neither an email address nor an Auth0 user id. "
            f"Use correct format: {USER_ID_FORMAT}.", 2)
    with client:
        try:
            if by_email:
                users = find_by_email(client, identifier)
            else:
                users = [client.get_user(identifier, FIELDS)]
        except Auth0NotFoundError:
            users = []
        except Auth0BadRequestError as exc:
            if by_email:
                return _fail(f"Auth0 refused the email address {identifier!r}: {exc}", 2)
            return _fail(f"Wrong user ID format: Auth0 refused {identifier!r}. {exc} "
                         f"Use correct format: {USER_ID_FORMAT}.", 2)
        if not users:
            if by_email:
                return _fail(f"User not found: no Auth0 account has the email {identifier!r}. It was looked "
                             "up in any case: check the address. An account created or changed in the last minute "
                             "may not be found yet under another case (Auth0's user search lags behind): try "
                             f"again shortly, or look the user up by id ({USER_ID_FORMAT}).", 1)
            return _fail(f"User not found (404): no Auth0 user has the id {identifier!r}. The id is the whole "
                         f"provider|id, case-sensitive. Use correct format: {USER_ID_FORMAT}; "
                         "or look the user up by email.", 1)
        connection_types, connections_note = read_connection_types(client)
        answers = []
        for user in users:
            events, note = read_events(client, str(user.get("user_id")))
            answers.append(describe(user, events, note, connection_types=connection_types,
                                    connections_note=connections_note))
    if as_json:
        print(json.dumps(answers if by_email else answers[0], indent=2))
        return 0
    text = "\n\n".join(render(answer) for answer in answers)
    if len(answers) > 1:
        verified = sum(1 for answer in answers if answer["email_verified"])
        text = (f"{len(answers)} separate Auth0 accounts use {identifier} ({verified} with the email verified; "
                "accounts sharing a verified email can be linked):\n\n" + text)
    print(text)
    return 0
