"""Where HTTP 429 is handled: pacing from x-ratelimit-* headers and waiting out a 429.

Auth0 rate-limits with token buckets and reports the bucket on every response as x-ratelimit-limit
(bucket size), x-ratelimit-remaining and x-ratelimit-reset (UNIX seconds when tokens come back).
We never spend the last token blindly: the pacer keeps a lower bound of what is left (answers may
come back out of order when several requests are in flight), and when that is spent it waits for
an answer still on its way or, with none, until the reset.

Which requests share a bucket depends on the plan. Essentials/Professional limit each endpoint
group on its own (read users, read logs, organizations, everything else); Free and Enterprise
limit the tenant as a whole ("set by tenant and not by endpoint"), so all groups report one
bucket. The headers do not say which, so the pacer learns it (`TenantShape`) and, until it knows,
lets a request go only when both its group's bucket and a tenant-wide one allow it: no 429 in
either shape, and each group at full rate once the shape is known.

A 429 that happens anyway is waited out (Retry-After, else the reset header, else exponential
backoff with jitter) until the sync's 429 budget is spent; then Auth0RateLimitError.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from bridged_auth0_pipeline.auth0.errors import Auth0RateLimitError

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# The reset header has one-second resolution: aim a little after it so the bucket has refilled.
RESET_MARGIN_SECONDS = 0.05

# With the bucket's state unknown while another request is out, wait this long for its answer.
PROBE_POLL_SECONDS = 0.02
# With no answer at all for this long, go anyway: a 429 is waited out, never a hang. Counted from
# the last answer, not from the first poll: on a small shared bucket (Free: 2) one stream may wait
# through many other streams' probes, and going anyway then was a 429 (20 of 298 requests, 10k users).
PROBE_MAX_WAIT_SECONDS = 5.0

TENANT = "*"  # the tenant-wide bucket every Management API group shares on Free and Enterprise
MANAGEMENT_GROUPS = ("users", "logs", "organizations", "other")


@dataclass
class Bucket:
    limit: int | None = None
    remaining: int | None = None  # a lower bound: from the answers so far, minus what was sent since
    reset_epoch: float | None = None
    in_flight: int = 0  # sent, not answered yet (several threads may share a bucket)
    sent: int = 0  # requests sent, ever
    settled: int = 0  # answers received or requests abandoned, ever


@dataclass
class Ticket:
    """What `before_request` hands out: the buckets the request was counted in, with how many of
    their answers had come back when it was sent, and when it was sent."""

    key: str
    settled_when_sent: dict[str, int]
    sent_at: float


@dataclass
class Answer:
    """A group's latest answer, for telling the tenant's shape."""

    remaining: int
    limit: int | None
    ticket: Ticket
    settled_index: int  # the group's settled count once this answer was in
    received_at: float


@dataclass
class TenantShape:
    """Whether the Management API groups share one bucket: None while unknown.

    Proof of one bucket per group: two groups report different limits, or a group reports more
    tokens than a shared bucket could hold — at least the other group's last count plus what a
    bucket can refill meanwhile (`limit` tokens a second at most: every Auth0 Management API
    bucket, 2/2 per s on Free up to 50/50 per s, takes a second or more to refill).
    Proof of a shared bucket: a group's count drops by more than its own requests can explain.
    Rounding of the counts is covered by a one-token margin either way.
    """

    shared: bool | None = None
    reason: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)

    def learn(self, key: str, answer: Answer, own: Bucket) -> None:
        previous = self.answers.get(key)
        self.answers[key] = answer
        if self.shared is not None:
            return
        if previous is not None and answer.ticket.settled_when_sent.get(key, -1) >= previous.settled_index:
            # Own requests that may have been served between the two answers: all sent since the
            # previous one went out, but those two.
            own_between = own.sent - previous.ticket.settled_when_sent[key] - 2
            if answer.remaining < previous.remaining - own_between - 2:
                self._decide(True, f"{key}: remaining fell from {previous.remaining} to {answer.remaining} with "
                                   f"at most {own_between} own requests between")
                return
        for other_key, other in self.answers.items():
            if other_key == key:
                continue
            if answer.limit is not None and other.limit is not None and answer.limit != other.limit:
                self._decide(False, f"x-ratelimit-limit {other_key} {other.limit}, {key} {answer.limit}")
                return
            if other.received_at <= answer.ticket.sent_at and answer.limit:
                refill = answer.limit * (answer.received_at - other.ticket.sent_at)
                if answer.remaining >= other.remaining + refill + 1:
                    self._decide(False, f"{key} has {answer.remaining} left right after {other_key} had "
                                        f"{other.remaining}")
                    return

    def _decide(self, shared: bool, reason: str) -> None:
        self.shared, self.reason = shared, reason
        log.info("Auth0 rate limits: %s (%s)", "one bucket for the tenant" if shared else "a bucket per endpoint group",
                 reason)


def bucket_key(path: str) -> str:
    """Auth0's rate-limit groups: reading users, reading logs, organizations, every other endpoint.

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
    if parts[0] == "organizations":
        return "organizations"
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
        self.shape = TenantShape()
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def _bucket_names(self, key: str) -> tuple[str, ...]:
        if key not in MANAGEMENT_GROUPS:
            return (key,)
        if self.shape.shared is None:
            return (key, TENANT)
        return (TENANT,) if self.shape.shared else (key,)

    def before_request(self, key: str) -> Ticket:
        """Take a token of every bucket the request counts in, or wait until they allow it.

        Thread-safe: requests in flight are counted, and while a bucket's state is unknown (after a
        reset) only one request goes out to learn it; the others wait for its answer. Returns the
        ticket to hand to `observe` (or `abandon`).
        """
        polled, answers_seen = 0.0, None
        while True:
            with self._lock:
                names = self._bucket_names(key)
                buckets = {name: self._buckets.setdefault(name, Bucket()) for name in names}
                answers = sum(bucket.settled for bucket in buckets.values())
                if answers != answers_seen:  # progress: the requests we wait for are being answered
                    polled, answers_seen = 0.0, answers
                states = {name: self._state(bucket, polled) for name, bucket in buckets.items()}
                if "poll" in states.values():
                    wait, ticket = PROBE_POLL_SECONDS, None  # an answer on its way will tell more
                    polled += wait
                else:
                    to_reset = [buckets[name].reset_epoch for name, state in states.items() if state == "reset"]
                    wait = max(to_reset) + RESET_MARGIN_SECONDS - self._clock() if to_reset else 0.0
                    ticket = self._send(key, buckets, probe={n for n, s in states.items() if s == "reset"})
            if wait > 0:
                self.waited_pacing += wait
                self._sleep(wait)
            if ticket is not None:
                return ticket

    @staticmethod
    def _state(bucket: Bucket, polled: float) -> str:
        """"go", "poll" (wait for an answer in flight) or "reset" (go as the probe after the reset)."""
        if bucket.remaining is None and bucket.in_flight > 0 and polled < PROBE_MAX_WAIT_SECONDS:
            return "poll"  # unknown state: the request out will tell
        if bucket.remaining is None or bucket.remaining > 0 or bucket.reset_epoch is None:
            return "go"
        if bucket.in_flight > 0 and polled < PROBE_MAX_WAIT_SECONDS:
            return "poll"  # empty by our count: an answer on its way tells what refilled, sooner than the reset
        return "reset"

    def _send(self, key: str, buckets: dict[str, Bucket], probe: set[str]) -> Ticket:
        settled = {}
        for name, bucket in buckets.items():
            if name in probe:
                bucket.remaining = None  # this request's answer tells the refilled state
            elif bucket.remaining is not None:
                bucket.remaining -= 1  # spend our own estimate until the next response corrects it
            bucket.in_flight += 1
            bucket.sent += 1
            settled[name] = bucket.settled
        return Ticket(key, settled, self._clock())

    def observe(self, key: str, response: httpx.Response, ticket: Ticket) -> None:
        """Learn the buckets from an answer, never overestimating them.

        Answers can be served and arrive in another order than they were sent, so an answer may
        not have seen the tokens of requests sent before it was answered. Every request that had
        not been answered when this one was sent, or was sent after it, may have been served after
        it: all of them are subtracted. That is a lower bound whatever the order; the larger of it
        and the current estimate (also a lower bound) is kept.
        """
        remaining = _int_header(response, "x-ratelimit-remaining")
        limit = _int_header(response, "x-ratelimit-limit")
        with self._lock:
            for name, settled_when_sent in ticket.settled_when_sent.items():
                bucket = self._buckets.setdefault(name, Bucket())
                self._settle(bucket)
                if remaining is None:
                    continue
                lower_bound = remaining - (bucket.sent - 1 - settled_when_sent)
                bucket.limit = limit
                bucket.remaining = lower_bound if bucket.remaining is None else max(bucket.remaining, lower_bound)
                bucket.reset_epoch = _int_header(response, "x-ratelimit-reset")
            own = self._buckets.get(key)
            # A 429 tells nothing about sharing (it may be injected, or another client's doing).
            if (remaining is not None and response.status_code != 429 and own is not None
                    and key in MANAGEMENT_GROUPS and key in ticket.settled_when_sent):
                self.shape.learn(key, Answer(remaining, limit, ticket, own.settled, self._clock()), own)

    @staticmethod
    def _settle(bucket: Bucket) -> None:
        bucket.in_flight = max(0, bucket.in_flight - 1)
        bucket.settled += 1

    def abandon(self, ticket: Ticket) -> None:
        """A request got no answer (dropped connection, timeout): it is no longer in flight."""
        with self._lock:
            for name in ticket.settled_when_sent:
                bucket = self._buckets.get(name)
                if bucket is not None:
                    self._settle(bucket)

    def wait_after_429(self, ticket: Ticket, response: httpx.Response, attempt: int, path: str) -> None:
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
            for name in ticket.settled_when_sent:  # forget the state, keep counting the requests
                bucket = self._buckets.get(name) or Bucket()
                self._buckets[name] = Bucket(in_flight=bucket.in_flight, sent=bucket.sent, settled=bucket.settled)
            if self.waited_on_429 + wait > self.max_wait_seconds:
                reset_at = datetime.fromtimestamp(max(now + wait, reset or 0), tz=timezone.utc)
                raise Auth0RateLimitError(reset_at, self.waited_on_429, self.max_wait_seconds, path)
            self.waited_on_429 += wait
        self._sleep(wait)
