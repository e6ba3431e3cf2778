"""Turn Auth0 error responses into typed errors that say the cause and the fix.

One function per API: the Authentication API (/oauth/token) answers {error, error_description};
the Management API answers {statusCode, error, message, errorCode}.
"""

from __future__ import annotations

import re

import httpx

from bridged_auth0_pipeline.auth0.connection import redacted
from bridged_auth0_pipeline.auth0.errors import (
    CONNECTED_CREDENTIALS,
    DASHBOARD_APP,
    DASHBOARD_GRANTS,
    SCOPES_TO_GRANT,
    Auth0AudienceError,
    Auth0AuthenticationError,
    Auth0AuthorizationError,
    Auth0BadRequestError,
    Auth0ConnectionError,
    Auth0Error,
    Auth0NotFoundError,
    Auth0ScopeError,
)

USER_ID_FORMAT = "provider|id, e.g. auth0|507f1f77bcf86cd799439020 or google-oauth2|103547991597142817347"


def _body(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def token_error(response: httpx.Response, audience: str) -> Auth0Error:
    body = _body(response)
    description = str(body.get("error_description") or body.get("message") or response.reason_phrase)
    status = response.status_code
    if "Non-global clients" in description:
        return Auth0AudienceError(
            f"Token generation failed ({status}): {description!r} — no audience reached Auth0. "
            "Fix: set AUTH0_AUDIENCE to https://<your-tenant>.auth0.com/api/v2/, or configure a "
            "Default Audience in Auth0 Dashboard → Settings → API Authorization Settings."
        )
    if "Service not enabled within domain" in description:
        return Auth0AudienceError(
            f"Token generation failed ({status}): wrong audience {redacted(audience)!r} "
            f"({description.replace(audience, redacted(audience))!r}). "
            "Fix: set AUTH0_AUDIENCE to the Management API identifier https://<your-tenant>.auth0.com/api/v2/ "
            "(with a custom domain use the canonical tenant domain), or unset it to use the default."
        )
    if "client-grant" in description or "not authorized to access" in description:
        return Auth0AuthorizationError(
            f"Token generation failed ({status}): the application is not authorized for the Management "
            f"API ({description!r}). Fix: authorize it in {DASHBOARD_GRANTS} with the scopes {SCOPES_TO_GRANT}."
        )
    if status == 401 or body.get("error") in ("access_denied", "invalid_client", "unauthorized_client"):
        return Auth0AuthenticationError(
            f"Connection fails ({status} {description!r}): Auth0 rejected the client credentials. "
            f"Fix: verify AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET in {DASHBOARD_APP} → Settings{CONNECTED_CREDENTIALS}."
        )
    return Auth0Error(f"Token request failed ({status}): {description!r}.")


def management_error(response: httpx.Response, method: str, path: str) -> Auth0Error:
    body = _body(response)
    status = response.status_code
    message = str(body.get("message") or body.get("error_description") or response.reason_phrase)
    code = body.get("errorCode") or body.get("error")
    where = f"{method} {path}"
    if status == 401:
        return Auth0AuthenticationError(
            f"Connection fails (401 on {where}: {message!r}) even with a freshly issued token. "
            f"Fix: verify AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET in {DASHBOARD_APP} and that AUTH0_AUDIENCE "
            f"is this tenant's Management API{CONNECTED_CREDENTIALS}."
        )
    if status == 403:
        match = re.search(r"expected (?:any of|all of)?:?\s*([\w:, ]+)", message)
        if code == "insufficient_scope" or match:
            scope = (match.group(1).split(",")[0].strip() if match else "read:users")
            return Auth0ScopeError(
                f"No data returned (403 insufficient scope on {where}): the token lacks {scope}. "
                f"Fix: grant {scope} to the application in {DASHBOARD_GRANTS}, then re-run.",
                scope=scope,
            )
        return Auth0AuthorizationError(f"Forbidden (403 on {where}): {message!r}. Fix: check the grants in {DASHBOARD_GRANTS}.")
    if status == 404:
        return Auth0NotFoundError(
            f"Not found (404 on {where}): {message!r}. Fix: check the id; user ids have the form {USER_ID_FORMAT}."
        )
    if status == 400:
        return Auth0BadRequestError(f"Bad request (400 on {where}): {message!r} [{code}].", error_code=code)
    return Auth0Error(f"Auth0 answered {status} on {where}: {message!r} [{code}].")


def connection_error(exc: httpx.TransportError, base_url: str, fix: str) -> Auth0ConnectionError:
    """Name what failed before any HTTP answer: DNS, a refused connection, TLS, or silence.
    `fix` says where the domain was set (the command's flag or variable)."""
    text = " ".join(str(link) for link in _chain(exc))
    if any(marker in text for marker in ("Name or service not known", "nodename nor servname", "name resolution",
                                         "getaddrinfo", "No address associated")):
        what = f"the host name of {base_url} does not resolve (DNS lookup failed)"
    elif "Connection refused" in text or "Errno 111" in text:
        what = f"nothing accepts connections at {base_url} (connection refused)"
    elif any(marker in text for marker in ("SSL", "TLS", "CERTIFICATE", "certificate")):
        reason = next((str(link) for link in _chain(exc) if "SSL" in str(link) or "certificate" in str(link)), text)
        what = f"the TLS handshake with {base_url} failed ({reason.strip()[:160]})"
    elif isinstance(exc, httpx.TimeoutException):
        what = f"{base_url} did not answer in time ({type(exc).__name__})"
    else:
        what = f"the connection to {base_url} failed ({type(exc).__name__}: {str(exc)[:160]})"
    return Auth0ConnectionError(f"Cannot reach Auth0: {what}. Fix: {fix}")


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
