"""One pooled httpx client per sync: token reuse, pacing, retries and error mapping.

Every request to Auth0 goes through `Auth0Session._send`, so there is exactly one place that
retries (5xx, timeouts, dropped or truncated responses), one that waits on 429
(`rate_limit.RateLimitPacer`) and one that renews the token (a 401 on the Management API renews
once and retries). Nothing here logs a header, a request body or a token.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx

from bridged_auth0_pipeline.auth0 import error_mapping
from bridged_auth0_pipeline.auth0.connection import Auth0Connection
from bridged_auth0_pipeline.auth0.errors import Auth0ConfigError, Auth0ServerError
from bridged_auth0_pipeline.auth0.rate_limit import RateLimitPacer, bucket_key

log = logging.getLogger(__name__)

# How long one sync may wait on 429s before failing (BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS' default).
DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS = 300.0
MAX_TRANSIENT_RETRIES = 6
TRANSIENT_BACKOFF_CAP_SECONDS = 8.0
RETRYABLE_STATUS = {500, 502, 503, 504}
# Renew this long before Auth0's expires_in runs out, so no request carries a dying token.
TOKEN_RENEW_MARGIN_SECONDS = 60.0
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# A person waiting at a prompt (`bridged-auth0 user`, `connect`, `test`) hears within seconds that
# the host cannot be reached; syncs keep their retries, which ride out a network blip.
INTERACTIVE_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DOMAIN_FIX = ("check the tenant domain (AUTH0_DOMAIN, or the tenant's --domain in `bridged-auth0 connect`): "
              "e.g. dev-abc123.us.auth0.com, reachable from this machine.")


class Secret:
    """A string that never shows itself in repr, str or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


# Which extraction stream a request is counted for: its thread, unless it runs in a worker thread
# on a stream's behalf (`counted_for`, used by `in_flight.py`).
_request_stream: ContextVar[int | None] = ContextVar("auth0_request_stream", default=None)


def request_stream() -> int:
    """The stream requests from this thread are counted for (see `counted_for`)."""
    return _request_stream.get() or threading.get_ident()


@contextmanager
def counted_for(stream: int) -> Iterator[None]:
    """Count this worker thread's requests for `stream`, the thread that started the work."""
    token = _request_stream.set(stream)
    try:
        yield
    finally:
        _request_stream.reset(token)


@dataclass
class RequestStats:
    management_requests: int = 0
    token_requests: int = 0
    retries_transient: int = 0
    retries_429: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    # Per stream: the extraction streams share one session, each in its own thread (and its workers).
    by_stream: dict[int, int] = field(default_factory=dict)
    # Auth0's answer time (moving average): how many walks it takes to keep a bucket busy.
    round_trip_seconds: float | None = None

    def management_requests_of_this_stream(self) -> int:
        return self.by_stream.get(request_stream(), 0)


class Auth0Session:
    def __init__(
        self,
        connection: Auth0Connection,
        client_id: str,
        client_secret: str,
        *,
        max_rate_limit_wait_seconds: float = DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        interactive: bool = False,
    ):
        if not client_id or not client_id.strip():
            raise Auth0ConfigError("AUTH0_CLIENT_ID is not set. Fix: copy the Client ID from the M2M application's Settings tab.")
        if not client_secret:
            raise Auth0ConfigError("AUTH0_CLIENT_SECRET is not set. Fix: copy the Client Secret from the M2M application's Settings tab.")
        self.connection = connection
        self.interactive = interactive
        self._client_id = client_id.strip()
        self._client_secret = Secret(client_secret)
        self._token: Secret | None = None
        self._token_expires_at = 0.0
        self._token_lock = threading.Lock()
        self.pacer = RateLimitPacer(max_rate_limit_wait_seconds)
        self.stats = RequestStats()
        self._stats_lock = threading.Lock()
        # verify=True always: TLS is never switched off; loopback is http:// and needs none.
        self._http = httpx.Client(
            base_url=connection.base_url,
            timeout=timeout or (INTERACTIVE_TIMEOUT if interactive else DEFAULT_TIMEOUT),
            transport=transport,
            headers={"User-Agent": "bridged-auth0-pipeline"},
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )

    def __enter__(self) -> "Auth0Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the Management API -------------------------------------------------------------------

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, httpx.Headers]:
        return self.request_json("GET", path, params=params)

    def request_json(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> tuple[Any, httpx.Headers]:
        """Send an authenticated Management API request and return (parsed body, headers)."""
        url = path if path.startswith("/api/v2/") else f"/api/v2/{path.lstrip('/')}"
        params = {k: v for k, v in (params or {}).items() if v is not None}
        renewed = False
        sent_with: list[Secret] = []

        def build() -> httpx.Request:
            # Asked per attempt: a retry after a long 429 wait must not carry a token that expired meanwhile.
            token = self._access_token()
            sent_with.append(token)
            return self._http.build_request(
                method, url, params=params, json=json, headers={"Authorization": f"Bearer {token.reveal()}"}
            )

        while True:
            response, body = self._send(build, url, kind="management")
            if response.status_code == 401 and not renewed:
                log.info("Auth0 token rejected on %s %s; renewing it once", method, url)
                self._invalidate(sent_with[-1])
                renewed = True
                continue
            if response.is_error:
                raise error_mapping.management_error(response, method, url)
            return body, response.headers

    def download(self, url: str) -> httpx.Response:
        """Open a streamed GET of an absolute (signed) URL, e.g. an export file; caller closes it."""
        if not url.startswith("https://") and not self.connection.is_loopback:
            raise Auth0ServerError(f"Refusing to download over plain http from a non-loopback host: {url.split('?')[0]}")
        response = self._http.send(self._http.build_request("GET", url), stream=True)
        if response.is_error:
            response.read()
            response.close()
            raise Auth0ServerError(f"Download of {url.split('?')[0]} failed with {response.status_code}.")
        return response

    # --- the token -----------------------------------------------------------------------------

    def _access_token(self) -> Secret:
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires_at:
                self._token, self._token_expires_at = self._fetch_token()
            return self._token

    def _invalidate(self, token: Secret) -> None:
        with self._token_lock:
            if self._token is token:
                self._token = None

    def _fetch_token(self) -> tuple[Secret, float]:
        body_json = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.reveal(),
            "audience": self.connection.audience,
        }
        started = time.monotonic()
        response, body = self._send(
            lambda: self._http.build_request("POST", "/oauth/token", json=body_json), "/oauth/token", kind="token"
        )
        if response.is_error or not isinstance(body, dict) or not body.get("access_token"):
            raise error_mapping.token_error(response, self.connection.audience)
        expires_in = float(body.get("expires_in") or 86400)
        margin = min(TOKEN_RENEW_MARGIN_SECONDS, expires_in / 10)
        log.info("Obtained an Auth0 Management API token (expires in %ss)", int(expires_in))
        return Secret(body["access_token"]), started + expires_in - margin

    # --- the one retry loop -------------------------------------------------------------------

    def _send(self, build: Callable[[], httpx.Request], path: str, *, kind: str) -> tuple[httpx.Response, Any]:
        """Send until a final answer: waits on 429, retries transient failures, parses JSON."""
        key = bucket_key(path)
        transient_failures = 0
        rate_limited = 0
        while True:
            ticket = self.pacer.before_request(key)
            failure: str | None = None
            try:
                response = self._http.send(build())
            except httpx.TransportError as exc:  # timeouts, refused/dropped connections, truncated bodies
                response, failure = None, f"{type(exc).__name__}"
                self.pacer.abandon(ticket)
                unreachable = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if unreachable and (self.interactive or transient_failures >= MAX_TRANSIENT_RETRIES):
                    raise error_mapping.connection_error(exc, self.connection.base_url, DOMAIN_FIX) from None
            except BaseException:
                self.pacer.abandon(ticket)  # e.g. the token could not be had: nothing is in flight
                raise
            if response is not None:
                self._count(kind, key, response.elapsed.total_seconds())
                self.pacer.observe(key, response, ticket)
                if response.status_code == 429:
                    rate_limited += 1
                    self.stats.retries_429 += 1
                    log.info("Auth0 answered 429 on %s; waiting for the rate-limit reset", path)
                    self.pacer.wait_after_429(ticket, response, rate_limited, path)
                    continue
                if response.status_code in RETRYABLE_STATUS:
                    failure = f"HTTP {response.status_code}"
                else:
                    body, failure = _parse_json(response)
                    if failure is None:
                        return response, body
            transient_failures += 1
            self.stats.retries_transient += 1
            if transient_failures > MAX_TRANSIENT_RETRIES:
                raise Auth0ServerError(
                    f"Auth0 kept failing on {path} ({failure}) after {MAX_TRANSIENT_RETRIES} retries. "
                    "Fix: check https://status.auth0.com and the network, then re-run the sync."
                )
            delay = min(TRANSIENT_BACKOFF_CAP_SECONDS, 0.25 * 2 ** (transient_failures - 1)) * random.uniform(0.5, 1.0)
            log.info("Transient failure on %s (%s); retry %d in %.2fs", path, failure, transient_failures, delay)
            time.sleep(delay)

    def _count(self, kind: str, key: str, seconds: float) -> None:
        with self._stats_lock:  # extraction streams run in threads
            self._count_unlocked(kind, key, seconds)

    def _count_unlocked(self, kind: str, key: str, seconds: float) -> None:
        if kind == "token":
            self.stats.token_requests += 1
        else:
            previous = self.stats.round_trip_seconds
            self.stats.round_trip_seconds = seconds if previous is None else 0.8 * previous + 0.2 * seconds
            self.stats.management_requests += 1
            self.stats.by_endpoint[key] = self.stats.by_endpoint.get(key, 0) + 1
            stream = request_stream()
            self.stats.by_stream[stream] = self.stats.by_stream.get(stream, 0) + 1


def _parse_json(response: httpx.Response) -> tuple[Any, str | None]:
    """A 2xx body must be JSON; an unreadable one (cut by a proxy) is a transient failure."""
    if not response.content:
        return None, ("empty body" if response.is_success else None)
    try:
        return response.json(), None
    except ValueError:
        return None, ("invalid JSON body" if response.is_success else None)
