"""Auth0-style token-bucket rate limiting, one bucket per endpoint group.

Groups: "users" (/api/v2/users*, /users-by-email, /users/{id}/roles), "logs" (/api/v2/logs,
/users/{id}/logs), "other" (roles, jobs, ...) and "token" (POST /oauth/token). Every response
reports its bucket in x-ratelimit-limit / -remaining / -reset, the reset being the UNIX second at
which the next token is added back.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Mapping

GROUPS = ("users", "logs", "other", "token")


@dataclass(frozen=True)
class RateLimit:
    """Bucket size and refill rate. The default is generous so tests only feel limits they ask for.

    Auth0's Enterprise production limit is RateLimit(burst=50, per_second=16); Free is (2, 2).
    """

    burst: int = 1000
    per_second: float = 1000.0


class TokenBucket:
    def __init__(self, limit: RateLimit, clock=time.time):
        self.limit = limit
        self.clock = clock
        self.tokens = float(limit.burst)
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.per_second)
        self.updated = now

    def take(self) -> tuple[bool, dict[str, str]]:
        """Consume one token if there is one; return (allowed, rate-limit headers)."""
        with self.lock:
            now = self.clock()
            self._refill(now)
            allowed = self.tokens >= 1.0
            if allowed:
                self.tokens -= 1.0
            return allowed, self._headers(now)

    def _headers(self, now: float) -> dict[str, str]:
        missing = self.limit.burst - self.tokens
        if missing <= 0:
            reset = math.ceil(now)
        else:
            # When the next whole token is back.
            to_next = (1.0 - (self.tokens % 1.0)) / self.limit.per_second
            reset = math.ceil(now + to_next)
        return {"x-ratelimit-limit": str(self.limit.burst),
                "x-ratelimit-remaining": str(max(0, int(self.tokens))),
                "x-ratelimit-reset": str(reset)}

    def headers_resetting_in(self, seconds: float) -> dict[str, str]:
        """Headers for an injected 429: empty bucket, reset `seconds` ahead."""
        now = self.clock()
        return {"x-ratelimit-limit": str(self.limit.burst), "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(math.ceil(now + seconds))}


class RateLimiter:
    """The set of buckets for one server."""

    def __init__(self, config: RateLimit | Mapping[str, RateLimit] | None = None):
        if config is None or isinstance(config, RateLimit):
            per_group = {g: config or RateLimit() for g in GROUPS}
        else:
            unknown = set(config) - set(GROUPS)
            if unknown:
                raise ValueError(f"unknown rate-limit groups {sorted(unknown)}; use {GROUPS}")
            per_group = {g: config.get(g, RateLimit()) for g in GROUPS}
        self.buckets = {g: TokenBucket(limit) for g, limit in per_group.items()}

    def take(self, group: str) -> tuple[bool, dict[str, str]]:
        return self.buckets[group].take()
