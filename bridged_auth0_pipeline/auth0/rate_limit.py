"""Where HTTP 429 is handled: pacing from x-ratelimit-* headers and waiting out a 429.

Auth0 rate-limits with a token bucket per API and endpoint, and reports it on every response as
x-ratelimit-limit (bucket size), x-ratelimit-remaining and x-ratelimit-reset (UNIX seconds when
tokens come back). We never spend the last token blindly: when a bucket is empty we sleep until
its reset. A 429 that happens anyway is waited out (Retry-After, else the reset header, else
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


@dataclass
class Bucket:
    limit: int | None = None
    remaining: int | None = None
    reset_epoch: float | None = None


def bucket_key(path: str) -> str:
    """Auth0 limits per endpoint; the first segment after /api/v2/ names it well enough."""
    if not path.startswith("/api/v2/"):
        return path
    return path[len("/api/v2/"):].split("/", 1)[0]


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

    def before_request(self, key: str) -> None:
        """Sleep until the bucket's reset when the last response said it is empty."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.remaining is None or bucket.remaining > 0 or bucket.reset_epoch is None:
                if bucket is not None and bucket.remaining is not None:
                    bucket.remaining -= 1  # spend our own estimate until the next response corrects it
                return
            wait = bucket.reset_epoch + RESET_MARGIN_SECONDS - self._clock()
            bucket.remaining = None  # the next response tells us the refilled state
        if wait > 0:
            self.waited_pacing += wait
            self._sleep(wait)

    def observe(self, key: str, response: httpx.Response) -> None:
        remaining = _int_header(response, "x-ratelimit-remaining")
        if remaining is None:
            return
        with self._lock:
            self._buckets[key] = Bucket(
                limit=_int_header(response, "x-ratelimit-limit"),
                remaining=remaining,
                reset_epoch=_int_header(response, "x-ratelimit-reset"),
            )

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
            self._buckets.pop(key, None)
            if self.waited_on_429 + wait > self.max_wait_seconds:
                reset_at = datetime.fromtimestamp(max(now + wait, reset or 0), tz=timezone.utc)
                raise Auth0RateLimitError(reset_at, self.waited_on_429, self.max_wait_seconds, path)
            self.waited_on_429 += wait
        self._sleep(wait)
