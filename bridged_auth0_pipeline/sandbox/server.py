"""A real HTTP server (stdlib, HTTP/1.1 keep-alive) that speaks the Auth0 APIs for one tenant.

Request flow for the Management API: injected faults (latency, dropped connection, forced 429) ->
rate-limit bucket -> injected 5xx -> bearer token -> scope -> handler -> optional truncation.
`SandboxServer.handle()` holds that logic without any socket, the request handler only moves bytes.
"""

from __future__ import annotations

import math
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from .admin import handle_admin
from .auth import TokenIssuer
from .errors import ApiError, management_error, too_many_requests
from .exports import ExportJobs
from .faults import FaultDice, Faults
from .management import ManagementApi, Request
from .ratelimit import RateLimit, RateLimiter, TokenBucket
from .responses import Outcome, error_outcome, json_outcome
from .tenant import SandboxTenant

DEFAULT_SCOPES = ("read:users", "read:user_idp_tokens", "read:logs", "read:roles")
# The demo's client (`make sync`, `make dev`, `bridged-auth0 sandbox`): also the optional reads, so
# every data object and the active-users count can be tried against it.
DEMO_SCOPES = DEFAULT_SCOPES + ("read:connections", "read:clients", "read:organizations", "read:organization_members",
                                "read:organization_member_roles", "read:stats")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it. status 0 means the connection was dropped unanswered."""

    method: str
    path: str
    query: dict
    status: int
    api: str  # "management" | "auth" | "download" | "admin" | "other"
    at: float = 0.0


class SandboxServer:
    """Serves `tenant` over HTTP. Use as a context manager, or start()/stop()."""

    def __init__(self, tenant: SandboxTenant, client_id: str = "sandbox-client",
                 client_secret: str = "sandbox-secret", scopes: tuple[str, ...] = DEFAULT_SCOPES,
                 faults: Faults | None = None,
                 rate_limit: RateLimit | Mapping[str, RateLimit] | str | None = None,
                 token_ttl_seconds: int = 86400, host: str = "127.0.0.1", port: int = 0, *,
                 export_seconds: float = 0.3, activity_logs: bool = False,
                 default_audience: str | None = None, grant_enabled: bool = True):
        self.tenant = tenant
        self.host = host
        self.port = port
        self.requests: list[RequestRecord] = []
        #: Also write the events real Auth0 writes for the client's own calls: seccft/feccft on
        #: token requests, sapi on export creation, mgmt_api_read when identity tokens are read.
        #: Off by default so reads leave tenant.logs unchanged.
        self.activity_logs = activity_logs
        self._records_lock = threading.Lock()
        self._issuer = TokenIssuer(client_id, client_secret, tuple(scopes), audience="",
                                   ttl_seconds=token_ttl_seconds,
                                   default_audience=default_audience,
                                   grant_enabled=grant_enabled)
        self._exports = ExportJobs(tenant, export_seconds=export_seconds)
        self._api = ManagementApi(tenant, self._exports, on_secrets_read=self._secrets_read)
        self.rate_limit = rate_limit
        self.faults = faults or Faults()
        self._last_api_limit_log: dict[str, float] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # -- the M2M application ---------------------------------------------------------------------
    @property
    def client_id(self) -> str:
        return self._issuer.client_id

    @property
    def client_secret(self) -> str:
        return self._issuer.client_secret

    @property
    def scopes(self) -> tuple[str, ...]:
        """Scopes granted to the client; tokens issued after a change carry the new set."""
        return self._issuer.scopes

    @scopes.setter
    def scopes(self, value: tuple[str, ...]) -> None:
        self._issuer.scopes = tuple(value)

    @property
    def token_ttl_seconds(self) -> int:
        return self._issuer.ttl_seconds

    @token_ttl_seconds.setter
    def token_ttl_seconds(self, value: int) -> None:
        self._issuer.ttl_seconds = value

    # -- configuration that may change while running -------------------------------------------
    @property
    def faults(self) -> Faults:
        return self._dice.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._dice = FaultDice(value)

    @property
    def rate_limit(self):
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: RateLimit | Mapping[str, RateLimit] | str | None) -> None:
        """Per group, {"global": ...} for one tenant-wide bucket, or a plan name (ratelimit.PLANS)."""
        self._rate_limit = value
        self._limiter = RateLimiter(value)

    @property
    def default_audience(self) -> str | None:
        return self._issuer.default_audience

    @default_audience.setter
    def default_audience(self, value: str | None) -> None:
        self._issuer.default_audience = value

    @property
    def grant_enabled(self) -> bool:
        return self._issuer.grant_enabled

    @grant_enabled.setter
    def grant_enabled(self, value: bool) -> None:
        self._issuer.grant_enabled = value

    @property
    def export_seconds(self) -> float:
        return self._exports.export_seconds

    @export_seconds.setter
    def export_seconds(self, value: float) -> None:
        self._exports.export_seconds = value

    @property
    def export_url_ttl_seconds(self) -> float:
        return self._exports.url_ttl_seconds

    @export_url_ttl_seconds.setter
    def export_url_ttl_seconds(self, value: float) -> None:
        self._exports.url_ttl_seconds = value

    def expire_tokens(self) -> None:
        """Every token issued so far now answers 401 "Expired token ..."."""
        self._issuer.expire_all()

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far (tests scan logs and files for them)."""
        return self._issuer.issued_tokens()

    # -- addresses -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def audience(self) -> str:
        return f"{self.base_url}/api/v2/"

    # -- request log -----------------------------------------------------------------------------
    def management_request_count(self) -> int:
        with self._records_lock:
            return sum(1 for r in self.requests if r.api == "management")

    def token_requests(self) -> int:
        with self._records_lock:
            return sum(1 for r in self.requests if r.api == "auth")

    def _record(self, record: RequestRecord) -> None:
        with self._records_lock:
            self.requests.append(record)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "SandboxServer":
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.sandbox = self
        self._httpd = httpd
        self._issuer.audience = self.audience
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="auth0-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._connections_lock:
            open_connections = list(self._connections)
        for conn in open_connections:  # idle keep-alive connections would linger otherwise
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        self._exports.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (for the command line)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        finally:
            self.stop()

    def _track(self, conn: socket.socket, opened: bool) -> None:
        with self._connections_lock:
            (self._connections.add if opened else self._connections.discard)(conn)

    # -- the request pipeline --------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: Mapping[str, str],
               body: bytes) -> Outcome:
        url = urlsplit(raw_path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path
        if path.startswith("/api/v2/"):
            api, outcome = "management", self._management(method, path, query, headers, body)
        elif path == "/oauth/token":
            api, outcome = "auth", self._token(method, headers, body)
        elif path.startswith("/__sandbox/exports/"):
            api, outcome = "download", self._download(path, query)
        elif path.startswith("/__sandbox/"):
            api, outcome = "admin", self._admin(method, path, body)
        else:
            api, outcome = "other", json_outcome(404, {"statusCode": 404, "error": "Not Found",
                                                "message": "Not Found"})
        status = 0 if outcome.action == "drop" else outcome.status
        self._record(RequestRecord(method, unquote(path), query, status, api, time.time()))
        return outcome

    def _too_many(self, headers: dict[str, str], auth_api: bool) -> Outcome:
        err = too_many_requests(headers, auth_api=auth_api)
        if self.faults.retry_after:
            reset = int(headers.get("x-ratelimit-reset", "0"))
            err.headers["Retry-After"] = str(max(0, math.ceil(reset - time.time())))
        return error_outcome(err)

    def _pre_faults(self, bucket: TokenBucket | None, auth_api: bool) -> Outcome | None:
        """Latency, dropped connections and forced 429s, before the request is processed."""
        dice = self._dice
        faults = dice.faults
        delay = dice.latency()
        if delay > 0:
            time.sleep(delay)
        if dice.roll(faults.drop_connection_rate):
            return Outcome(0, action="drop")
        if bucket is not None:
            if faults.always_429:
                return self._too_many(bucket.headers_resetting_in(faults.reset_in_seconds),
                                      auth_api)
            if dice.roll(faults.extra_429_rate):
                return self._too_many(bucket.headers_resetting_in(1), auth_api)
        return None

    def _server_error(self, headers: dict[str, str], auth_api: bool) -> Outcome | None:
        dice = self._dice
        if not dice.roll(dice.faults.error_5xx_rate):
            return None
        status = dice.status_5xx()
        if auth_api:
            return json_outcome(status, {"error": "server_error",
                                  "error_description": "Internal Server Error"}, headers)
        return error_outcome(management_error(status, {
            500: "Internal Server Error", 502: "Bad Gateway",
            503: "The service is currently unavailable"}[status]), headers)

    def _maybe_truncate(self, outcome: Outcome) -> Outcome:
        if self._dice.roll(self._dice.faults.truncate_rate):
            outcome.action = "truncate"
        return outcome

    def _take(self, group: str, method: str, path: str) -> tuple[bool, dict[str, str]]:
        allowed, headers = self._limiter.take(group)
        if not allowed:
            now = time.time()
            if now - self._last_api_limit_log.get(group, 0.0) >= 1.0:
                self._last_api_limit_log[group] = now
                bucket = self._limiter.buckets[group]
                self.tenant.add_log("api_limit", description="Global limit has been reached",
                                    details={"limit": {"size": bucket.limit.burst, "bucket": bucket.name,
                                                       "global": True},
                                             "request": {"method": method.lower(),
                                                         "path": path}})
        return allowed, headers

    def _management(self, method: str, path: str, query: dict[str, str],
                    headers: Mapping[str, str], body: bytes) -> Outcome:
        found = self._api.match(method, path)
        group = found[0].group if found else _unrouted_group(path)
        bucket = self._limiter.buckets[group]
        early = self._pre_faults(bucket, auth_api=False)
        if early is not None:
            return early
        allowed, rl = self._take(group, method, path)
        if not allowed:
            return self._too_many(rl, auth_api=False)
        failed = self._server_error(rl, auth_api=False)
        if failed is not None:
            return failed
        try:
            scopes = self._issuer.authenticate(headers.get("Authorization"))
            if found is None:
                raise management_error(404, "Not Found")
            route, params = found
            self._issuer.require(scopes, route.scopes, route.require_all)
            reply = route.handler(Request(method, path, query, body, scopes, self.base_url),
                                  params)
        except ApiError as err:
            return error_outcome(err, rl)
        if self.activity_logs and path.endswith("/jobs/users-exports"):
            self.tenant.add_log("sapi", description="Create an export users job")
        return self._maybe_truncate(json_outcome(reply.status, reply.body, {**rl, **(reply.headers or {})}))

    def _token(self, method: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        if method != "POST":
            return json_outcome(404, {"error": "not_found", "error_description": "Not Found"})
        faulty = self.faults.faults_on_token
        bucket = self._limiter.buckets["token"]
        if faulty:
            early = self._pre_faults(bucket, auth_api=True)
            if early is not None:
                return early
        allowed, rl = self._take("token", method, "/oauth/token")
        if not allowed:
            return self._too_many(rl, auth_api=True)
        if faulty:
            failed = self._server_error(rl, auth_api=True)
            if failed is not None:
                return failed
        try:
            params = self._issuer.parse_body(body, headers.get("Content-Type") or "",
                                             headers.get("Authorization"))
            token = self._issuer.exchange(params)
        except ApiError as err:
            if self.activity_logs:
                self.tenant.add_log("feccft", description=err.body.get("error_description", ""))
            return error_outcome(err, rl)
        if self.activity_logs:
            self.tenant.add_log("seccft", audience=self.audience, scope=token["scope"])
        outcome = json_outcome(200, token, {**rl, "Cache-Control": "no-store"})
        return self._maybe_truncate(outcome) if faulty else outcome

    def _download(self, path: str, query: dict[str, str]) -> Outcome:
        faulty = self.faults.faults_on_download
        if faulty:
            early = self._pre_faults(None, auth_api=False)
            if early is not None:
                return early
            failed = self._server_error({}, auth_api=False)
            if failed is not None:
                return failed
        try:
            job, stream = self._exports.open_download(path.rsplit("/", 1)[-1], query)
        except ApiError as err:
            return error_outcome(err)
        outcome = Outcome(200, {"Content-Type": "application/gzip"}, stream=stream)
        return self._maybe_truncate(outcome) if faulty else outcome

    def _secrets_read(self, path: str) -> None:
        if self.activity_logs:
            self.tenant.add_log("mgmt_api_read", description="Get a User",
                                details={"request": {"method": "get", "path": path},
                                         "accessedSecrets": ["identities.access_token"]})

    # -- admin API (for a sandbox started from the command line) --------------------------------
    def _admin(self, method: str, path: str, body: bytes) -> Outcome:
        return handle_admin(self, method, path, body)


def _unrouted_group(path: str) -> str:
    """Organizations have their own Essentials bucket even before the sandbox serves them."""
    return "organizations" if path.startswith("/api/v2/organizations") else "other"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SandboxServer

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (a killed sync, a dropped connection) is normal, not an error."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Auth0Sandbox/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed after this long

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add
        # ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.sandbox._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        outcome = self.server.sandbox.handle(self.command, self.path, self.headers, body)
        try:
            self._write(outcome)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    def _write(self, outcome: Outcome) -> None:
        if outcome.action == "drop":
            self.close_connection = True
            return
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        truncate = outcome.action == "truncate"
        if outcome.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in outcome.stream:
                if truncate:  # half of the first chunk, then hang up
                    self.wfile.write(b"%x\r\n" % len(chunk) + chunk[:len(chunk) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        if truncate:
            cut = self.server.sandbox._dice.cut_point(len(outcome.body))
            self.wfile.write(outcome.body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(outcome.body)


__all__ = ["DEFAULT_SCOPES", "DEMO_SCOPES", "RequestRecord", "SandboxServer"]
