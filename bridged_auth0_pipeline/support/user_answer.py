"""`bridged-auth0 user <user_id | email>`: "What is this user's authentication method?"

Reads the profile live (/api/v2/users/{id} or /api/v2/users-by-email) and explains its
`identities` array. Method types follow the auth0.user_auth_methods view: auth0 → database,
sms/email → passwordless, otherwise social or enterprise by isSocial.
"""

from __future__ import annotations

import json
import os
import sys

from bridged_auth0_pipeline.auth0 import Auth0Client, Auth0NotFoundError
from bridged_auth0_pipeline.auth0.error_mapping import USER_ID_FORMAT
from bridged_auth0_pipeline.orchestration.settings import SyncSettings

PASSWORDLESS_PROVIDERS = {"sms", "email"}
FIELDS = ["user_id", "email", "email_verified", "phone_number", "name", "identities", "multifactor",
          "last_login", "logins_count", "blocked"]


def method_type(identity: dict) -> str:
    provider = identity.get("provider")
    if provider == "auth0":
        return "database"
    if provider in PASSWORDLESS_PROVIDERS:
        return "passwordless"
    return "social" if identity.get("isSocial") else "enterprise"


def describe(user: dict) -> dict:
    identities = [identity for identity in user.get("identities") or [] if isinstance(identity, dict)]
    methods = [
        {
            "provider": identity.get("provider"),
            "connection": identity.get("connection"),
            "type": method_type(identity),
            "primary": index == 0,
        }
        for index, identity in enumerate(identities)
    ]
    return {
        "user_id": user.get("user_id"),
        "email": user.get("email"),
        "phone_number": user.get("phone_number"),
        "primary_method": methods[0] if methods else None,
        "methods": methods,
        "mfa_enrolled": bool(user.get("multifactor")),
        "mfa_factors": list(user.get("multifactor") or []),
        "last_login": user.get("last_login"),
        "logins_count": user.get("logins_count"),
        "blocked": bool(user.get("blocked")),
    }


def render(answer: dict) -> str:
    contact = answer["email"] or answer["phone_number"] or "no email or phone"
    lines = [f"{answer['user_id']} ({contact})"]
    primary = answer["primary_method"]
    if primary is None:
        lines.append("  Signs in with: unknown (the profile has no identities)")
    else:
        lines.append(f"  Signs in with: {primary['provider']} via the {primary['connection']} connection ({primary['type']})")
    for method in answer["methods"][1:]:
        lines.append(f"  Also linked:   {method['provider']} via {method['connection']} ({method['type']})")
    factors = f" ({', '.join(answer['mfa_factors'])})" if answer["mfa_factors"] else ""
    lines.append(f"  MFA:           {'enrolled' + factors if answer['mfa_enrolled'] else 'not enrolled'}")
    last = answer["last_login"] or "never logged in"
    lines.append(f"  Last login:    {last}" + (f" ({answer['logins_count']} logins)" if answer["logins_count"] else ""))
    if answer["blocked"]:
        lines.append("  Blocked:       yes")
    return "\n".join(lines)


def answer_user(identifier: str, settings: SyncSettings, *, as_json: bool = False) -> int:
    identifier = identifier.strip()
    if "@" not in identifier and "|" not in identifier:
        print(f"error: {identifier!r} is neither an email nor an Auth0 user id. User ids have the form {USER_ID_FORMAT}.",
              file=sys.stderr)
        return 2
    with Auth0Client.connect(
        os.environ.get("AUTH0_DOMAIN"), os.environ.get("AUTH0_CLIENT_ID"), os.environ.get("AUTH0_CLIENT_SECRET"),
        audience=settings.audience, page_size=settings.page_size,
        max_rate_limit_wait_seconds=settings.rate_limit_max_wait_seconds,
    ) as client:
        if "@" in identifier:
            users = client.users_by_email(identifier, FIELDS)
        else:
            try:
                users = [client.get_user(identifier, FIELDS)]
            except Auth0NotFoundError:
                users = []
    if not users:
        print(f"error: User not found (404): no Auth0 user {identifier!r}. Check the id (format {USER_ID_FORMAT}) "
              "or search by email.", file=sys.stderr)
        return 1
    answers = [describe(user) for user in users]
    print(json.dumps(answers if len(answers) > 1 else answers[0], indent=2) if as_json else "\n\n".join(map(render, answers)))
    return 0
