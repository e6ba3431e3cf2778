"""What we keep of a record as soon as it arrives: identity-provider tokens are secrets and are
dropped here, before a user record reaches any buffer, table, log or file."""

from __future__ import annotations

IDP_TOKEN_KEYS = frozenset({"access_token", "refresh_token", "access_token_secret", "id_token"})

# Every profile field the warehouse types (FACTS.md "User profile"); metadata is asked for separately.
PROFILE_FIELDS = (
    "user_id", "email", "email_verified", "username", "phone_number", "phone_verified", "name",
    "nickname", "given_name", "family_name", "picture", "created_at", "updated_at", "last_login",
    "last_ip", "logins_count", "blocked", "multifactor", "identities",
)
METADATA_FIELDS = ("user_metadata", "app_metadata")


def user_fields(include_metadata: bool) -> list[str]:
    return [*PROFILE_FIELDS, *(METADATA_FIELDS if include_metadata else ())]


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
