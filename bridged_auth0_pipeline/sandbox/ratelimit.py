"""Auth0-style token-bucket rate limiting: one bucket per endpoint group, or one for the tenant.

Groups: "users" (/api/v2/users*, /users-by-email, /users/{id}/roles), "logs" (/api/v2/logs,
/users/{id}/logs), "organizations" (/api/v2/organizations*), "other" (roles, jobs, ...) and
"token" (POST /oauth/token, the Authentication API). Every response reports its bucket in
x-ratelimit-limit / -remaining / -reset, the reset being the UNIX second at which the next token
is added back.

Auth0's plans come in two shapes, and a client must survive both: Essentials/Professional limit
each endpoint group on its own, while Free and Enterprise have one tenant-wide Management API
limit ("set by tenant and not by endpoint"), so every group reports the same bucket. A config
with a "global" entry gives that second shape: all Management API groups draw from one bucket.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Mapping

GROUPS = ("users", "logs", "organizations", "other", "token")
MANAGEMENT_GROUPS = ("users", "logs", "organizations", "other")
GLOBAL = "global"


@dataclass(frozen=True)
class RateLimit:
    """Bucket size and refill rate. The default is generous so tests only feel limits they ask for."""

    burst: int = 1000
    per_second: float = 1000.0


def per_minute(burst: int, sustained_per_minute: float) -> RateLimit:
    return RateLimit(burst=burst, per_second=sustained_per_minute / 60)


# Auth0's published Management API limits per plan (Auth0's rate-limit policy pages). Professional = Essentials.
PLANS: dict[str, dict[str, RateLimit]] = {
    "free": {GLOBAL: RateLimit(burst=2, per_second=2)},
    "essentials": {
        "users": per_minute(40, 500),
        "logs": per_minute(10, 100),
        "organizations": per_minute(5, 50),
        "other": per_minute(10, 150),
    },
    "enterprise": {GLOBAL: RateLimit(burst=50, per_second=16)},
}


class TokenBucket:
    def __init__(self, limit: RateLimit, name: str, clock=time.time):
        self.limit = limit
        self.name = name
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
    """The buckets of one server: per group, or one shared by every Management API group."""

    def __init__(self, config: RateLimit | Mapping[str, RateLimit] | str | None = None):
        if isinstance(config, str):
            if config not in PLANS:
                raise ValueError(f"unknown Auth0 plan {config!r}; use one of {sorted(PLANS)}")
            config = PLANS[config]
        if config is None or isinstance(config, RateLimit):
            config = {g: config or RateLimit() for g in GROUPS}
        unknown = set(config) - set(GROUPS) - {GLOBAL}
        if unknown:
            raise ValueError(f"unknown rate-limit groups {sorted(unknown)}; use {GROUPS} or {GLOBAL!r}")
        if GLOBAL in config and set(config) & set(MANAGEMENT_GROUPS):
            raise ValueError(f"{GLOBAL!r} replaces the Management API groups {MANAGEMENT_GROUPS}: give one or the other")
        self.buckets = {g: TokenBucket(config.get(g, RateLimit()), g) for g in GROUPS}
        if GLOBAL in config:
            tenant_wide = TokenBucket(config[GLOBAL], GLOBAL)
            self.buckets.update({g: tenant_wide for g in MANAGEMENT_GROUPS})

    def take(self, group: str) -> tuple[bool, dict[str, str]]:
        return self.buckets[group].take()
