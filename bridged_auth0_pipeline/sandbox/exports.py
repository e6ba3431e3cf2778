"""POST /api/v2/jobs/users-exports, GET /api/v2/jobs/{id} and the signed download of the result.

A job moves pending -> processing -> completed over `export_seconds`; the user snapshot is taken
at the moment it completes (a timer), so changes made while it runs are in the file, changes made
after are not. The gzip file is generated while it is streamed: nothing but the list of user dict
references is held, which keeps a million-user export cheap.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import re
import secrets
import string
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Iterator

from .errors import ApiError, management_error
from .search import field_values
from .tenant import SandboxTenant

SECRET_IDENTITY_KEYS = ("access_token", "access_token_secret", "refresh_token")
DEFAULT_EXPORT_FIELDS = ("user_id", "email", "email_verified", "username", "phone_number",
                         "phone_verified", "name", "nickname", "given_name", "family_name",
                         "picture", "created_at", "updated_at", "last_login", "last_ip",
                         "logins_count", "blocked")
_CONNECTION_ID = re.compile(r"^con_[A-Za-z0-9]{16}$")
_ALNUM = string.ascii_letters + string.digits
_CHUNK = 64 * 1024


def strip_identity_secrets(user: dict) -> dict:
    """The user without identity-provider tokens (copying only when there is something to drop)."""
    identities = user.get("identities")
    if not identities or not any(k in i for i in identities for k in SECRET_IDENTITY_KEYS):
        return user
    clean = dict(user)
    clean["identities"] = [{k: v for k, v in i.items() if k not in SECRET_IDENTITY_KEYS}
                           for i in identities]
    return clean


def _payload_error(message: str) -> ApiError:
    return management_error(400, f"Payload validation error: '{message}'", "invalid_body")


@dataclass
class ExportJob:
    id: str
    created_at: str
    started: float
    format: str
    fields: list[dict] | None
    limit: int | None
    connection: dict | None
    include_secrets: bool
    snapshot: list[dict] | None = None
    timer: threading.Timer | None = None

    def describe(self) -> dict:
        body: dict = {"type": "users_export", "status": "pending", "id": self.id}
        if self.connection:
            body["connection_id"] = self.connection["id"]
            body["connection"] = self.connection["name"]
        body["format"] = self.format
        if self.limit is not None:
            body["limit"] = self.limit
        if self.fields is not None:
            body["fields"] = self.fields
        body["created_at"] = self.created_at
        return body


@dataclass
class ExportJobs:
    tenant: SandboxTenant
    export_seconds: float = 0.3
    url_ttl_seconds: float = 60.0
    clock: callable = time.time
    _jobs: dict[str, ExportJob] = field(default_factory=dict)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- create ------------------------------------------------------------------------------
    def create(self, raw_body: bytes, scopes: frozenset[str]) -> dict:
        try:
            body = json.loads(raw_body or b"{}")
        except ValueError:
            raise _payload_error("Invalid JSON") from None
        if not isinstance(body, dict):
            raise _payload_error("Expected type object")
        extra = set(body) - {"connection_id", "format", "limit", "fields"}
        if extra:
            raise _payload_error(f"Additional properties not allowed: {', '.join(sorted(extra))}")
        fmt = body.get("format", "json")
        if fmt not in ("json", "csv"):
            raise _payload_error(f'No enum match for: "{fmt}"')
        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or limit < 1):
            raise _payload_error("limit must be an integer of at least 1")
        fields = body.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or not all(
                    isinstance(f, dict) and isinstance(f.get("name"), str)
                    and set(f) <= {"name", "export_as"} for f in fields):
                raise _payload_error("fields must be a list of {name, export_as?}")
        connection = None
        if "connection_id" in body:
            cid = body["connection_id"]
            if not isinstance(cid, str) or not _CONNECTION_ID.match(cid):
                raise _payload_error("String does not match pattern ^con_[A-Za-z0-9]{16}$")
            connection = self.tenant.connection_by_id(cid)
            if connection is None:
                raise management_error(400, "The connection does not exist.",
                                       "inexistent_connection")
        job = ExportJob(id="job_" + "".join(secrets.choice(_ALNUM) for _ in range(16)),
                        created_at=self.tenant.now_iso(), started=self.clock(), format=fmt,
                        fields=fields, limit=limit, connection=connection,
                        include_secrets="read:user_idp_tokens" in scopes)
        with self._lock:
            self._jobs[job.id] = job
        if self.export_seconds <= 0:
            self._complete(job)
        else:
            job.timer = threading.Timer(self.export_seconds, self._complete, args=(job,))
            job.timer.daemon = True
            job.timer.start()
        return job.describe()

    def _complete(self, job: ExportJob) -> None:
        users = self.tenant.snapshot_users()
        if job.connection is not None:
            name = job.connection["name"]
            users = [u for u in users
                     if (u.get("identities") or [{}])[0].get("connection") == name]
        if job.limit is not None:
            users = users[:job.limit]
        job.snapshot = users

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                if job.timer is not None:
                    job.timer.cancel()

    # -- status ------------------------------------------------------------------------------
    def status(self, job_id: str, base_url: str) -> dict:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise management_error(404, "The job does not exist.", "inexistent_job")
        body = job.describe()
        elapsed = self.clock() - job.started
        if job.snapshot is not None:
            body["status"] = "completed"
            body["percentage_done"] = 100
            body["time_left_seconds"] = 0
            body["location"] = self.signed_url(job, base_url)
        elif elapsed < self.export_seconds / 3:
            body["status"] = "pending"
        else:
            body["status"] = "processing"
            body["percentage_done"] = min(99, int(100 * elapsed / self.export_seconds))
            body["time_left_seconds"] = max(0, math.ceil(self.export_seconds - elapsed))
        return body

    def _signature(self, job_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, job: ExportJob, base_url: str) -> str:
        expires = int(self.clock() + self.url_ttl_seconds)
        return (f"{base_url}/__sandbox/exports/{job.id}.{job.format}.gz"
                f"?expires={expires}&sig={self._signature(job.id, expires)}")

    # -- download ----------------------------------------------------------------------------
    def open_download(self, name: str, query: dict[str, str]) -> tuple[ExportJob, Iterator[bytes]]:
        """Check the signed URL and return the job and a generator of gzip chunks."""
        m = re.fullmatch(r"(job_[A-Za-z0-9]+)\.(json|csv)\.gz", name)
        with self._lock:
            job = self._jobs.get(m.group(1)) if m else None
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            expires = -1
        signature = query.get("sig", "")
        if job is None or job.snapshot is None or not hmac.compare_digest(
                signature, self._signature(job.id, expires)):
            raise _s3_error("AccessDenied", "Access Denied")
        if self.clock() > expires:
            raise _s3_error("AccessDenied", "Request has expired")
        return job, self._gzip_stream(job)

    def _gzip_stream(self, job: ExportJob) -> Iterator[bytes]:
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31 = gzip container
        lines = self._csv_lines(job) if job.format == "csv" else self._json_lines(job)
        batch: list[bytes] = []
        size = 0
        for line in lines:
            batch.append(line)
            size += len(line)
            if size >= _CHUNK:
                out = compressor.compress(b"".join(batch))
                batch, size = [], 0
                if out:
                    yield out
        out = compressor.compress(b"".join(batch)) + compressor.flush()
        if out:
            yield out

    def _columns(self, job: ExportJob) -> list[tuple[str, str]]:
        """(source field, output key) pairs; user_id always first."""
        specs = job.fields if job.fields is not None else [
            {"name": n} for n in DEFAULT_EXPORT_FIELDS]
        columns = [(f["name"], f.get("export_as") or f["name"]) for f in specs]
        if not any(name == "user_id" for name, _ in columns):
            columns.insert(0, ("user_id", "user_id"))
        return columns

    def _row(self, user: dict, columns: list[tuple[str, str]], include_secrets: bool) -> dict:
        if not include_secrets:
            user = strip_identity_secrets(user)
        row = {}
        for name, key in columns:
            if name in user:
                row[key] = user[name]
            elif "." in name:
                values = field_values(user, name)
                if values:
                    row[key] = values[0] if len(values) == 1 else values
        return row

    def _json_lines(self, job: ExportJob) -> Iterator[bytes]:
        columns = self._columns(job)
        for user in job.snapshot or ():
            row = self._row(user, columns, job.include_secrets)
            yield (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

    def _csv_lines(self, job: ExportJob) -> Iterator[bytes]:
        columns = self._columns(job)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([key for _, key in columns])
        for user in job.snapshot or ():
            row = self._row(user, columns, job.include_secrets)
            writer.writerow([_csv_cell(row.get(key)) for _, key in columns])
            if buffer.tell() >= _CHUNK:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _s3_error(code: str, message: str) -> ApiError:
    """Signed-URL failures look like the object store's, not like the Management API's."""
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
           f"<Message>{message}</Message></Error>")
    return ApiError(403, xml.encode(), {"Content-Type": "application/xml"})
