"""Where HTTP 429 is handled: pacing from x-ratelimit-* headers and waiting out a 429.

Auth0 rate-limits with a token bucket per API and endpoint, and reports it on every response as
x-ratelimit-limit (bucket size), x-ratelimit-remaining and x-ratelimit-reset (UNIX seconds when
tokens come back). We never spend the last token blindly: the pacer keeps a lower bound of what
is left (answers may come back out of order when several requests are in flight), and when that
is spent it waits for an answer still on its way or, with none, until the reset. A 429 that happens anyway is waited out (Retry-After, else the reset header, else
exponential backoff with jitter) until the sync's 429 budget is spent; then Auth0RateLimitError.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from bridged_auth0_pipeline.auth0.errors import Auth0RateLimitError

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# The reset header has one-second resolution: aim a little after it so the bucket has refilled.
RESET_MARGIN_SECONDS = 0.05


# With the bucket's state unknown while another request is out, wait this long for its answer.
PROBE_POLL_SECONDS = 0.02
PROBE_MAX_WAIT_SECONDS = 5.0  # then go anyway: a 429 is waited out, never a hang


@dataclass
class Bucket:
    limit: int | None = None
    remaining: int | None = None  # a lower bound: from the answers so far, minus what was sent since
    reset_epoch: float | None = None
    in_flight: int = 0  # sent, not answered yet (several threads may share a bucket)
    sent: int = 0  # requests sent, ever
    settled: int = 0  # answers received or requests abandoned, ever


def bucket_key(path: str) -> str:
    """Auth0's rate-limit groups: reading users, reading logs, and every other endpoint.

    Requests in one group share one bucket whatever their path (e.g. role members and export-job
    polls), so the pacer must count them together.
    """
    if not path.startswith("/api/v2/"):
        return path
    parts = path[len("/api/v2/"):].split("/")
    if parts[0] == "logs" or (parts[0] == "users" and len(parts) >= 3 and parts[2] == "logs"):
        return "logs"
    if parts[0] in ("users", "users-by-email"):
        return "users"
    return "other"


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def retry_after_seconds(response: httpx.Response, now: float) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class RateLimitPacer:
    """Per-sync rate-limit state. `waited_on_429` is what BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS bounds."""

    def __init__(self, max_wait_seconds: float, clock=time.time, sleep=time.sleep):
        self.max_wait_seconds = max_wait_seconds
        self.waited_on_429 = 0.0
        self.waited_pacing = 0.0
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def before_request(self, key: str) -> int:
        """Take a token of our estimate, or sleep until the bucket's reset when it is empty.

        Thread-safe: requests in flight are counted, and while the bucket's state is unknown (after a
        reset) only one request goes out to learn it; the others wait for its answer. Returns the
        ticket to hand to `observe`: how many answers had come back when this request was sent.
        """
        polled = 0.0
        while True:
            with self._lock:
                bucket = self._buckets.setdefault(key, Bucket())
                if bucket.remaining is None and bucket.in_flight > 0 and polled < PROBE_MAX_WAIT_SECONDS:
                    wait, probe = PROBE_POLL_SECONDS, False  # unknown state: the request out will tell
                    polled += wait
                elif bucket.remaining is None or bucket.remaining > 0 or bucket.reset_epoch is None:
                    if bucket.remaining is not None:
                        bucket.remaining -= 1  # spend our own estimate until the next response corrects it
                    return self._send(bucket)
                elif bucket.in_flight > 0 and polled < PROBE_MAX_WAIT_SECONDS:
                    wait, probe = PROBE_POLL_SECONDS, False  # empty by our count: an answer on its way
                    polled += wait  # tells what has refilled since, sooner than the reset
                else:
                    wait, probe = bucket.reset_epoch + RESET_MARGIN_SECONDS - self._clock(), True
                    bucket.remaining = None  # the next response tells us the refilled state
                    ticket = self._send(bucket)  # this request is the one that will tell
            if wait > 0:
                self.waited_pacing += wait
                self._sleep(wait)
            if probe:
                return ticket

    @staticmethod
    def _send(bucket: Bucket) -> int:
        bucket.in_flight += 1
        bucket.sent += 1
        return bucket.settled

    def observe(self, key: str, response: httpx.Response, ticket: int) -> None:
        """Learn the bucket from an answer, never overestimating it.

        Answers can be served and arrive in another order than they were sent, so an answer may
        not have seen the tokens of requests sent before it was answered. Every request that had
        not been answered when this one was sent (`ticket`), or was sent after it, may have been
        served after it: all of them are subtracted. That is a lower bound whatever the order;
        the larger of it and the current estimate (also a lower bound) is kept.
        """
        remaining = _int_header(response, "x-ratelimit-remaining")
        with self._lock:
            bucket = self._buckets.setdefault(key, Bucket())
            self._settle(bucket)
            if remaining is None:
                return
            possibly_served_after = bucket.sent - 1 - ticket
            lower_bound = remaining - possibly_served_after
            bucket.limit = _int_header(response, "x-ratelimit-limit")
            bucket.remaining = lower_bound if bucket.remaining is None else max(bucket.remaining, lower_bound)
            bucket.reset_epoch = _int_header(response, "x-ratelimit-reset")

    @staticmethod
    def _settle(bucket: Bucket) -> None:
        bucket.in_flight = max(0, bucket.in_flight - 1)
        bucket.settled += 1

    def abandon(self, key: str) -> None:
        """A request got no answer (dropped connection, timeout): it is no longer in flight."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                self._settle(bucket)

    def wait_after_429(self, key: str, response: httpx.Response, attempt: int, path: str) -> None:
        """Wait out one 429, or raise Auth0RateLimitError when the budget would be exceeded."""
        now = self._clock()
        wait = retry_after_seconds(response, now)
        reset = _int_header(response, "x-ratelimit-reset")
        if wait is None and reset is not None and reset + RESET_MARGIN_SECONDS > now:
            wait = reset + RESET_MARGIN_SECONDS - now
        if wait is None:
            backoff = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
            wait = backoff * random.uniform(0.5, 1.0)
        with self._lock:
            bucket = self._buckets.get(key) or Bucket()  # forget the state, keep counting the requests
            self._buckets[key] = Bucket(in_flight=bucket.in_flight, sent=bucket.sent, settled=bucket.settled)
            if self.waited_on_429 + wait > self.max_wait_seconds:
                reset_at = datetime.fromtimestamp(max(now + wait, reset or 0), tz=timezone.utc)
                raise Auth0RateLimitError(reset_at, self.waited_on_429, self.max_wait_seconds, path)
            self.waited_on_429 += wait
        self._sleep(wait)
