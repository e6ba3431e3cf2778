"""Injected failures, so a client's retry and resume logic can be exercised on demand.

All knobs default to off. Random ones draw from an RNG seeded with `seed`, so a run is repeatable
for a given sequence of requests. Replace `server.faults` at any time to change them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, fields


@dataclass
class Faults:
    #: Fraction of requests answered 429 although the bucket has tokens (reset 1 s ahead).
    extra_429_rate: float = 0.0
    #: Fraction answered 500/502/503 with an Auth0-style JSON body.
    error_5xx_rate: float = 0.0
    #: (min, max) seconds of delay added before answering.
    latency_seconds: tuple[float, float] | None = None
    #: Fraction whose connection is closed without any response.
    drop_connection_rate: float = 0.0
    #: Fraction sent with the full Content-Length but only part of the body, then closed.
    truncate_rate: float = 0.0
    #: Every Management API request is a 429, the reset `reset_in_seconds` ahead.
    always_429: bool = False
    reset_in_seconds: float = 1.0
    #: Add Retry-After to every 429 (Auth0 does not promise it on the Management API).
    retry_after: bool = False
    #: Also apply the knobs above to POST /oauth/token.
    faults_on_token: bool = False
    #: Also apply drop/truncate/5xx/latency to export file downloads.
    faults_on_download: bool = False
    seed: int = 0

    @classmethod
    def from_json(cls, data: dict) -> "Faults":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}")
        data = dict(data)
        if data.get("latency_seconds") is not None:
            low, high = data["latency_seconds"]
            data["latency_seconds"] = (float(low), float(high))
        return cls(**data)


class FaultDice:
    """Thread-safe random draws for one Faults configuration."""

    def __init__(self, faults: Faults):
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def latency(self) -> float:
        span = self.faults.latency_seconds
        if not span:
            return 0.0
        with self._lock:
            return self._rng.uniform(span[0], span[1])

    def status_5xx(self) -> int:
        with self._lock:
            return self._rng.choice((500, 502, 503))

    def cut_point(self, size: int) -> int:
        """Where a truncated body stops: always short of the full length."""
        if size <= 1:
            return 0
        with self._lock:
            return self._rng.randrange(0, size)
