"""POST /oauth/token (client credentials) and bearer-token checks for the Management API.

Access tokens are JWTs, as Auth0's Management API tokens are (iss, sub, aud, iat, exp, scope, gty;
signed HS256 with a key of this server, where Auth0 signs RS256): a pasted Management API token's
expiry is read from its `exp` claim. The server still checks a token by looking it up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .errors import ApiError, auth_error, insufficient_scope, management_error

CLIENT_GRANT_HELP = ("You need to create a \"client-grant\" associated to this API. "
                     "See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants")


@dataclass
class IssuedToken:
    scopes: frozenset[str]
    expires_at: float


@dataclass
class TokenIssuer:
    """The machine-to-machine application and the tokens it was given."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    audience: str
    ttl_seconds: int = 86400
    default_audience: str | None = None
    grant_enabled: bool = True
    clock: callable = time.time
    _tokens: dict[str, IssuedToken] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    # -- token endpoint ------------------------------------------------------------------------
    @staticmethod
    def parse_body(body: bytes, content_type: str, authorization: str | None) -> dict:
        if "json" in content_type:
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise auth_error(400, "invalid_request", "Invalid JSON body") from None
            if not isinstance(params, dict):
                raise auth_error(400, "invalid_request", "Invalid JSON body")
        else:
            params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if authorization and authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:].strip()).decode()
                cid, _, secret = raw.partition(":")
                params.setdefault("client_id", cid)
                params.setdefault("client_secret", secret)
            except ValueError:
                pass
        return params

    def exchange(self, params: dict) -> dict:
        """Validate a client-credentials request and mint a token, or raise ApiError."""
        grant_type = params.get("grant_type")
        if not grant_type:
            raise auth_error(400, "invalid_request", "Missing required parameter: grant_type")
        if grant_type != "client_credentials":
            raise auth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}")
        if not (secrets.compare_digest(str(params.get("client_id", "")), self.client_id)
                and secrets.compare_digest(str(params.get("client_secret", "")),
                                           self.client_secret)):
            raise auth_error(401, "access_denied", "Unauthorized")
        audience = params.get("audience") or self.default_audience
        if not audience:
            raise auth_error(403, "access_denied",
                             "Non-global clients are not allowed access to APIv1")
        if audience != self.audience:
            raise auth_error(403, "access_denied", f"Service not enabled within domain: {audience}")
        if not self.grant_enabled:
            raise auth_error(403, "access_denied",
                             f"Client is not authorized to access \"{audience}\". "
                             + CLIENT_GRANT_HELP)
        granted = list(self.scopes)
        requested = str(params.get("scope") or "").split()
        if requested:
            missing = [s for s in requested if s not in granted]
            if missing:
                raise auth_error(403, "access_denied",
                                 f"Client has not been granted scopes: {' '.join(missing)}")
            granted = [s for s in granted if s in requested]
        issued_at = self.clock()
        token = self._jwt({"iss": f"{self.audience.removesuffix('api/v2/')}", "sub": f"{self.client_id}@clients",
                           "aud": audience, "iat": int(issued_at), "exp": int(issued_at + self.ttl_seconds),
                           "scope": " ".join(granted), "gty": "client-credentials",
                           "jti": secrets.token_urlsafe(16)})
        with self._lock:
            self._tokens[token] = IssuedToken(frozenset(granted), issued_at + self.ttl_seconds)
        return {"access_token": token, "scope": " ".join(granted),
                "expires_in": self.ttl_seconds, "token_type": "Bearer"}

    def _jwt(self, claims: dict) -> str:
        def part(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        signing_input = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(json.dumps(claims).encode())
        signature = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + part(signature)

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def expire_all(self) -> None:
        """Make every issued token expired (for testing token renewal)."""
        with self._lock:
            for issued in self._tokens.values():
                issued.expires_at = 0.0

    # -- Management API ------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> frozenset[str]:
        """Scopes of a valid bearer token, or the 401 Auth0 would send."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise management_error(401, "Missing authentication")
        token = authorization[7:].strip()
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            raise management_error(401, "Invalid token")
        if self.clock() >= issued.expires_at:
            raise management_error(401, "Expired token received for JSON Web Token validation")
        return issued.scopes

    @staticmethod
    def require(scopes: frozenset[str], needed: tuple[str, ...], require_all: bool) -> None:
        ok = all(s in scopes for s in needed) if require_all else any(s in scopes for s in needed)
        if not ok:
            raise insufficient_scope(needed, require_all)


__all__ = ["ApiError", "TokenIssuer"]
