"""Typed Auth0 errors whose messages state the cause and the fix.

The messages follow Bridged's troubleshooting table for customers: 401 → verify the client id and
secret; token generation fails → the audience; 403 → add the missing scope; 429 → sync less often;
"Non-global clients" → set a default audience; 404 → the user id format. They never contain a client
secret or a token: only the HTTP status, the endpoint path and Auth0's own error text.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

DASHBOARD_APP = "Auth0 Dashboard → Applications → Applications → <your Machine-to-Machine app>"
# The client knows no tenant key: fixes name the AUTH0_*/BRIDGED_* variable, then a connected tenant's way.
CONNECTED_CREDENTIALS = ("; for a connected tenant, store the right ones with `bridged-auth0 connect KEY --domain … "
                         "--client-id …` (the secret on standard input)")
DASHBOARD_GRANTS = (
    "Auth0 Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications"
)
_RESET_AT = re.compile(r"reset_at=(\S+?Z)")
# The Management API scopes the pipeline reads with (the endpoints of client.py), in one place: what
# every sync needs, what organizations need, and the optional ones (connections and clients: the sync
# warns and goes on without them; stats: `connect` counts active users with it). Not
# read:user_idp_tokens: nothing uses identity-provider tokens, and that scope is what makes Auth0 send
# them (records.py still drops any that come).
REQUIRED_SCOPES = ("read:users", "read:logs", "read:roles")
ORGANIZATION_SCOPES = ("read:organizations", "read:organization_members", "read:organization_member_roles")
OPTIONAL_SCOPES = ("read:connections", "read:clients", "read:stats")
SCOPES_TO_GRANT = (f"{', '.join(REQUIRED_SCOPES)} (with organizations in the data objects also "
                   f"{', '.join(ORGANIZATION_SCOPES)}; optional: {', '.join(OPTIONAL_SCOPES)})")


class Auth0Error(Exception):
    """Base class: anything that went wrong talking to Auth0."""


class Auth0ConfigError(Auth0Error):
    """A setting is missing or malformed; raised before any request is made."""


class Auth0AuthenticationError(Auth0Error):
    """401: the client credentials (or the token built from them) were rejected."""


class Auth0AudienceError(Auth0Error):
    """The token request named an audience the tenant does not serve, or none at all."""


class Auth0AuthorizationError(Auth0Error):
    """403: the application is not authorized for the Management API or lacks a scope."""


class Auth0ScopeError(Auth0AuthorizationError):
    """403 insufficient_scope: the token lacks `scope`."""

    def __init__(self, message: str, scope: str):
        super().__init__(message)
        self.scope = scope


class Auth0NotFoundError(Auth0Error):
    """404: the user (or role, or job) does not exist."""


class Auth0BadRequestError(Auth0Error):
    """400: Auth0 refused the request's parameters."""

    def __init__(self, message: str, error_code: str | None = None):
        super().__init__(message)
        self.error_code = error_code


class Auth0LogRetentionError(Auth0BadRequestError):
    """400 on a log checkpoint older than the tenant's retention: a gap in the history."""


class Auth0ServerError(Auth0Error):
    """5xx, timeouts, dropped connections or unreadable bodies that outlasted the retries."""


class Auth0ConnectionError(Auth0ServerError):
    """The tenant's host could not be reached: DNS, a refused connection, TLS, or no answer."""


class Auth0RateLimitError(Auth0Error):
    """HTTP 429 outlasted BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS.

    The class name and the `reset_at=<ISO-8601>` token in the message are a contract: the re-run
    sensor finds this error by name in a failed run's error chain and waits until that time.
    """

    def __init__(self, reset_at: datetime, waited_seconds: float, max_wait_seconds: float, path: str):
        self.reset_at = reset_at
        self.waited_seconds = waited_seconds
        self.max_wait_seconds = max_wait_seconds
        super().__init__(
            f"Auth0 rate limit (429) on {path}: waited {waited_seconds:.1f}s of the "
            f"{max_wait_seconds:g}s allowed by BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS. "
            f"reset_at={format_reset(reset_at)}. Fix: reduce BRIDGED_SYNC_FREQUENCY (a connected tenant's: "
            "`bridged-auth0 settings KEY --frequency`), raise "
            "BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS, or ask Auth0 for a higher rate limit; the re-run "
            "sensor retries after the reset."
        )


def parse_reset(message: str) -> datetime | None:
    """The reset_at=<time> an Auth0RateLimitError's message carries (format_reset wrote it)."""
    match = _RESET_AT.search(message or "")
    return datetime.fromisoformat(match.group(1).replace("Z", "+00:00")) if match else None


def format_reset(reset_at: datetime) -> str:
    """Whole seconds, rounded up: a re-run scheduled from it never starts before the reset."""
    whole = reset_at.replace(microsecond=0) + (timedelta(seconds=1) if reset_at.microsecond else timedelta(0))
    return whole.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
