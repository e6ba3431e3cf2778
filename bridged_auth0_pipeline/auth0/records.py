"""What we keep of a record as soon as it arrives: identity-provider tokens are secrets and are
dropped here, before a user record reaches any buffer, table, log or file."""

from __future__ import annotations

import json

IDP_TOKEN_KEYS = frozenset({"access_token", "refresh_token", "access_token_secret", "id_token"})

# Every profile field the warehouse types (the Management API user profile: ids, email and phone with verification, names, picture, timestamps, logins_count, blocked, multifactor, identities); metadata is asked for separately.
PROFILE_FIELDS = (
    "user_id", "email", "email_verified", "username", "phone_number", "phone_verified", "name",
    "nickname", "given_name", "family_name", "picture", "created_at", "updated_at", "last_login",
    "last_ip", "logins_count", "blocked", "multifactor", "identities",
)
METADATA_FIELDS = ("user_metadata", "app_metadata")


def user_fields(include_metadata: bool) -> list[str]:
    return [*PROFILE_FIELDS, *(METADATA_FIELDS if include_metadata else ())]


# Credentials an application (client) or connection object may carry: the client secret, signing and
# encryption keys, credential lists, and a connection's `options` (an IdP's client secret lives there).
CREDENTIAL_KEYS = frozenset({"client_secret", "signing_keys", "encryption_key", "client_authentication_methods",
                             "jwt_configuration", "options", "credentials"})


def without_credentials(record: dict) -> dict:
    """A client or connection without any credential, before it reaches any buffer, table or log."""
    return {k: v for k, v in record.items() if k not in CREDENTIAL_KEYS}


def without_idp_tokens(user: dict) -> dict:
    identities = user.get("identities")
    if isinstance(identities, list) and any(
        isinstance(identity, dict) and IDP_TOKEN_KEYS & identity.keys() for identity in identities
    ):
        user = {
            **user,
            "identities": [
                {k: v for k, v in identity.items() if k not in IDP_TOKEN_KEYS} if isinstance(identity, dict) else identity
                for identity in identities
            ],
        }
    return user


# A line that could carry a token key: the key spelled out, or any \u escape (which could spell it).
_MAY_CARRY_TOKENS = (b"token", b"\\u")
WITHHELD_LINE = b"{invalid JSON withheld: the line mentions a token and could not be parsed to remove it"


def line_without_idp_tokens(line: bytes) -> bytes:
    """One NDJSON user line without identity-provider tokens.

    Most lines mention no token at all and pass through as they are, unparsed (a 1M-user export is
    not decoded in Python); only the others are parsed, stripped and encoded again. A line that
    mentions a token but is not valid JSON is replaced by a marker (still invalid JSON, so the record
    is rejected as such), because nothing proves the token is not in it.
    """
    if not any(marker in line for marker in _MAY_CARRY_TOKENS):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return WITHHELD_LINE
    if isinstance(record, dict):
        record = without_idp_tokens(record)
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
