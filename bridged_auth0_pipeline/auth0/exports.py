"""The users export job: a complete snapshot of the tenant without the search cap.

POST /api/v2/jobs/users-exports → poll GET /api/v2/jobs/{id} until completed → stream the gzip
NDJSON file from the signed `location` URL, one user per line, never holding the file in memory.
Lines are passed on as bytes with identity-provider tokens removed: the warehouse reads them with
DuckDB's own JSON reader, so most of them are never decoded in Python.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import datetime

import httpx

from bridged_auth0_pipeline.auth0.errors import Auth0ServerError
from bridged_auth0_pipeline.auth0.records import line_without_idp_tokens
from bridged_auth0_pipeline.auth0.session import Auth0Session
from bridged_auth0_pipeline.auth0.timestamps import parse_timestamp, server_time

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_SECONDS = 3600.0
POLL_MIN_SECONDS = 0.25
POLL_MAX_SECONDS = 15.0
DOWNLOAD_ATTEMPTS = 4

# Who else hears each polled state, (status, percent done), in this thread: the extraction's progress
# (extraction/progress.py). A context variable, so the client's signatures stay as they are.
job_state_listener: ContextVar[Callable[[str, int | None], None] | None] = ContextVar("job_state_listener", default=None)


class UsersExport(Iterator[bytes]):
    """Every user of the tenant from a fresh export job (json format): one NDJSON line each, without
    its newline and without identity-provider tokens. The job is created on the first `next()`.

    `created_at` is then the job's creation time by Auth0's clock (the response's Date header when
    the job does not say). Auth0 does not document the file as a picture of one moment, so a user
    changed while the job ran may be in it as it was: a cursor taken after it must not pass this time.
    """

    def __init__(self, session: Auth0Session, fields: list[str], *, deadline_seconds: float = DEFAULT_DEADLINE_SECONDS):
        self.created_at: datetime | None = None
        self._lines = self._read(session, fields, deadline_seconds)

    def __next__(self) -> bytes:
        return next(self._lines)

    def _read(self, session: Auth0Session, fields: list[str], deadline_seconds: float) -> Iterator[bytes]:
        job, headers = session.request_json(
            "POST", "jobs/users-exports", json={"format": "json", "fields": [{"name": name} for name in fields]}
        )
        self.created_at = parse_timestamp(job.get("created_at")) or server_time(headers)
        location = wait_for_export(session, job["id"], deadline_seconds)
        for line in _stream_ndjson_gz(session, job["id"], location):
            yield line_without_idp_tokens(line)


def export_user_lines(
    session: Auth0Session, fields: list[str], *, deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
) -> UsersExport:
    return UsersExport(session, fields, deadline_seconds=deadline_seconds)


def wait_for_export(session: Auth0Session, job_id: str, deadline_seconds: float) -> str:
    started = time.monotonic()
    delay = POLL_MIN_SECONDS
    shown = None
    while True:
        job, _ = session.get_json(f"jobs/{job_id}")
        status = job.get("status")
        if (listener := job_state_listener.get()) is not None:
            listener(str(status), job.get("percentage_done"))
        if (status, job.get("percentage_done")) != shown and status != "completed":  # the job's progress, as it moves
            shown = (status, job.get("percentage_done"))
            left = job.get("time_left_seconds")
            log.info("Users export %s: %s, %s%% done%s", job_id, status, job.get("percentage_done", 0),
                     f" (about {left} s left)" if left else "")
        if status == "completed" and job.get("location"):
            log.info("Users export %s completed after %.1fs", job_id, time.monotonic() - started)
            return job["location"]
        if status == "failed":
            raise Auth0ServerError(f"Auth0 users export job {job_id} failed: {job.get('summary') or job}. Fix: re-run the sync.")
        elapsed = time.monotonic() - started
        if elapsed > deadline_seconds:
            raise Auth0ServerError(
                f"Auth0 users export job {job_id} did not complete within {deadline_seconds:g}s "
                f"(status {status}, {job.get('percentage_done', '?')}% done). Fix: re-run the sync later."
            )
        hint = job.get("time_left_seconds")
        delay = min(POLL_MAX_SECONDS, max(POLL_MIN_SECONDS, float(hint) / 2 if hint else delay * 1.5))
        time.sleep(min(delay, max(0.0, deadline_seconds - elapsed)))


def _stream_ndjson_gz(session: Auth0Session, job_id: str, location: str) -> Iterator[bytes]:
    """Yield the file's lines; a download cut short is fetched again and resumed after the last line."""
    yielded = 0
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            for index, line in enumerate(_read_ndjson_gz(session.download(location), job_id)):
                if index >= yielded:
                    yielded += 1
                    yield line
            return
        except (httpx.TransportError, Auth0ServerError) as exc:
            if attempt == DOWNLOAD_ATTEMPTS:
                raise Auth0ServerError(
                    f"The users export file of job {job_id} could not be downloaded ({exc}). Fix: re-run the sync."
                ) from exc
            log.info("Export download of %s failed (%s); fetching a fresh URL and resuming", job_id, type(exc).__name__)
            # The signed URL lives about 60 s; a fresh GET of the job signs a new one.
            location = wait_for_export(session, job_id, POLL_MAX_SECONDS)


def _read_ndjson_gz(response: httpx.Response, job_id: str) -> Iterator[bytes]:
    try:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = b""
        for chunk in response.iter_bytes():
            pending += inflate.decompress(chunk)
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
        pending += inflate.flush()
        if not inflate.eof:
            raise Auth0ServerError(f"The users export file of job {job_id} was cut short.")
        for line in pending.split(b"\n"):
            if line.strip():
                yield line
    except zlib.error as exc:
        raise Auth0ServerError(f"The users export file of job {job_id} is not valid gzip ({exc}).") from exc
    finally:
        response.close()
