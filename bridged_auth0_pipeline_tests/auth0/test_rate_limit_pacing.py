"""The pacer against the sandbox's own buckets on a fake clock: how close it paces to the refill rate.

Each stream is a page walk: it asks the pacer, its request is served after half a round trip and
answered after the rest, then it spends a moment on the page and asks again. Round trips vary, so
answers of different streams come back out of order. The clock only moves when the pacer sleeps or
when every stream waits on the network, so figures are exact and the same on a loaded machine.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field

import httpx
import pytest

from bridged_auth0_pipeline.auth0.rate_limit import TENANT, RateLimitPacer
from bridged_auth0_pipeline.sandbox import RateLimit
from bridged_auth0_pipeline.sandbox.ratelimit import PLANS, RateLimiter

START = 1_800_000_000.3  # epoch-sized (float resolution as in use), not on a whole second


@dataclass
class Stream:
    key: str  # the pacer's bucket key and the sandbox's group: users, logs, other
    ready_at: float = START


@dataclass
class Simulation:
    """Streams that always have another page to read, paced by one RateLimitPacer."""

    limits: object  # what RateLimiter takes: a plan name or {group: RateLimit}
    keys: tuple[str, ...]
    round_trip: tuple[float, float] = (0.01, 0.03)  # seconds, uniform: the sandbox on a busy 2-core machine
    think: float = 0.005  # the stream's own work between an answer and its next request
    seed: int = 1
    now: float = START
    served: list[tuple[float, str]] = field(default_factory=list)  # (when, group) of every 200
    rejected: list[tuple[float, str]] = field(default_factory=list)  # every 429

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.limits)
        for bucket in self.limiter.buckets.values():
            bucket.clock, bucket.updated = (lambda: self.now), self.now
        self.pacer = RateLimitPacer(60, clock=lambda: self.now, sleep=self._sleep)
        self.random = random.Random(self.seed)
        self.streams = [Stream(key) for key in self.keys]
        self.events: list = []
        self.order = itertools.count()

    def run(self, until: float) -> Simulation:
        """Run the streams until `until` seconds after START."""
        end = START + until
        while self.now < end:
            idle = [s for s in self.streams if s.ready_at is not None]
            stream = min(idle, key=lambda s: s.ready_at) if idle else None
            if stream is None or stream.ready_at > self.now:
                nxt = min([e[0] for e in self.events] + ([stream.ready_at] if stream else []))
                self._advance(nxt)
                continue
            stream.ready_at = None
            ticket = self.pacer.before_request(stream.key)
            served_at = self.now + self.random.uniform(*self.round_trip) / 2
            self._schedule(served_at, "serve", stream, ticket)
        return self

    def _schedule(self, when: float, kind: str, stream: Stream, payload) -> None:
        heapq.heappush(self.events, (when, next(self.order), kind, stream, payload))

    def _sleep(self, seconds: float) -> None:
        self._advance(self.now + seconds)

    def _advance(self, until: float) -> None:
        """Serve and answer everything due by `until`, then set the clock there."""
        while self.events and self.events[0][0] <= until:
            when, _, kind, stream, payload = heapq.heappop(self.events)
            self.now = max(self.now, when)
            if kind == "serve":
                allowed, headers = self.limiter.take(stream.key)
                (self.served if allowed else self.rejected).append((self.now, stream.key))
                response = httpx.Response(200 if allowed else 429, headers=headers)
                answered_at = self.now + self.random.uniform(*self.round_trip) / 2
                self._schedule(answered_at, "answer", stream, (payload, response))
            else:
                ticket, response = payload
                self.pacer.observe(stream.key, response, ticket)
                stream.ready_at = self.now + self.think
        self.now = max(self.now, until)

    def rate(self, group: str, since: float, until: float) -> float:
        """Requests/s served in [START + since, START + until) that drew on `group`'s bucket."""
        bucket = self.limiter.buckets[group]
        count = sum(1 for when, g in self.served
                    if START + since <= when < START + until and self.limiter.buckets[g] is bucket)
        return count / (until - since)


FREE_RATE = PLANS["free"]["global"].per_second


@pytest.mark.parametrize("keys", [("logs",), ("users", "logs", "other")], ids=["one stream", "three streams"])
def test_free_bucket_is_paced_at_its_refill_rate(keys):
    """Free: 2 tokens, 2 a second, one bucket for the tenant. Waiting for the whole-second reset
    gave 1.7 requests/s here (a token lost whenever the two requests of a second were apart)."""
    sim = Simulation("free", keys).run(120)
    assert sim.rejected == []
    assert len(sim.served) > 100 and sim.now >= START + 120  # it ran: a rate over real traffic
    # The streams would send 40 a second unpaced: the bucket binds them. Waiting for the reset
    # header gave 0.83 of its rate here.
    assert sim.rate("logs", 20, 120) >= 0.95 * FREE_RATE  # after 20 s of learning
    assert sim.rate("logs", 0, 120) >= 0.9 * FREE_RATE
    learned = max(bucket.refill for bucket in sim.pacer._buckets.values())
    assert 0.9 * FREE_RATE <= learned <= FREE_RATE  # a lower bound, and a close one


def test_learned_rate_never_exceeds_the_true_one_under_out_of_order_answers():
    """Round trips from 0 to 200 ms: answers overtake each other; the bound must still err low."""
    sim = Simulation({"global": RateLimit(burst=5, per_second=7)}, ("users", "logs", "other", "logs"),
                     round_trip=(0.0, 0.2), seed=3).run(60)
    assert sim.rejected == []
    assert len(sim.served) > 300
    for bucket in sim.pacer._buckets.values():
        assert bucket.refill <= 7


@pytest.mark.parametrize("limits, keys, bucket", [
    ("essentials", ("users", "logs", "other"), "logs"),
    ("enterprise", ("users", "logs", "other"), "logs"),
    ({"global": RateLimit(burst=50, per_second=50)}, ("users", "logs", "other"), "logs"),
], ids=["essentials", "enterprise", "one 50/50 bucket"])
def test_every_plan_is_paced_without_429(limits, keys, bucket):
    sim = Simulation(limits, keys).run(90)
    assert sim.rejected == []
    rate = sim.limiter.buckets[bucket].limit.per_second
    assert sim.rate(bucket, 30, 90) >= 0.95 * rate


def test_a_429_while_pacing_on_the_learned_rate_goes_back_to_the_reset_header():
    """Another client draining the bucket looks like a slower refill: once pacing on the learned
    rate meets a 429, the pacer waits for the reset header again for the rest of the sync."""
    sim = Simulation("free", ("logs",)).run(30)
    pacer = sim.pacer
    assert pacer._buckets[TENANT].usable_refill() > 0
    ticket = pacer.before_request("logs")
    rejected = httpx.Response(429, headers={"x-ratelimit-limit": "2", "x-ratelimit-remaining": "0",
                                            "x-ratelimit-reset": str(int(sim.now) + 1)})
    pacer.observe("logs", rejected, ticket)
    pacer.wait_after_429(ticket, rejected, 1, "/api/v2/logs")
    sim.run(60)
    assert sim.rejected == []
    assert pacer._buckets[TENANT].refill_distrusted and pacer._buckets["logs"].refill_distrusted
    assert all(bucket.usable_refill() == 0 for bucket in pacer._buckets.values())
    assert sim.rate("logs", 35, 60) < 0.9 * FREE_RATE  # the reset header's pace, as before
