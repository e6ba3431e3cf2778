"""Bridged's third connection method: a Management API token pasted from the Auth0 Dashboard.

Such a token cannot be renewed by the pipeline (there is no client secret), so its expiry (the
JWT's `exp` claim, read without verifying the signature: Auth0 verifies it, we only need the date)
is checked before every request, and a sync with an expired token fails before it sends one.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone

from bridged_auth0_pipeline.auth0.connection import Auth0Connection
from bridged_auth0_pipeline.auth0.errors import Auth0AuthenticationError, Auth0ConfigError
from bridged_auth0_pipeline.auth0.session import Auth0Session, Secret

WHERE_TO_GET_ONE = "Auth0 Dashboard → Applications → APIs → Auth0 Management API → API Explorer"


def token_expiry(token: str) -> datetime:
    """The `exp` of a JWT access token; a clear error for anything that is not one."""
    try:
        payload = token.strip().split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), timezone.utc)
    except (IndexError, ValueError, KeyError, TypeError):
        raise Auth0ConfigError(
            f"The Management API token is not a JWT with an `exp` claim. Fix: paste the token from {WHERE_TO_GET_ONE} "
            "(three dot-separated parts), or use --method client_credentials."
        ) from None


def expired_message(expired_at: datetime, tenant: str) -> str:
    return (
        f"The Management API token expired at {expired_at.isoformat(timespec='seconds')}; paste a new one with "
        f"`bridged-auth0 connect {tenant} --method management_token`, or switch to client credentials."
    )


class ManagementTokenSession(Auth0Session):
    """An Auth0Session whose one token is given, not fetched."""

    def __init__(self, connection: Auth0Connection, token: str, *, tenant: str, **kwargs):
        super().__init__(connection, "management-token", "management-token", **kwargs)
        try:
            self._expires = token_expiry(token)
        except BaseException:  # not a JWT: the session's HTTP client, just opened, is closed again
            self.close()
            raise
        self._tenant = tenant
        self._token = Secret(token.strip())
        self._token_expires_at = time.monotonic() + (self._expires - datetime.now(timezone.utc)).total_seconds()

    def _fetch_token(self):
        """Called when the token has expired or Auth0 rejected it: nothing can renew it."""
        if datetime.now(timezone.utc) >= self._expires:
            raise Auth0ConfigError(expired_message(self._expires, self._tenant))
        raise Auth0AuthenticationError(
            f"Auth0 rejected the Management API token of tenant {self._tenant!r} (401): it was revoked or belongs to "
            f"another tenant. Fix: paste a new one with `bridged-auth0 connect {self._tenant} --method "
            "management_token`, or switch to client credentials."
        )
