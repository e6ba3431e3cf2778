"""Where HTTP 429 is handled: pacing from x-ratelimit-* headers and waiting out a 429.

Auth0 rate-limits with token buckets and reports the bucket on every response as x-ratelimit-limit
(bucket size), x-ratelimit-remaining and x-ratelimit-reset (UNIX seconds when tokens come back).
We never spend the last token blindly: the pacer keeps a lower bound of what is left (answers may
come back out of order when several requests are in flight), and when that is spent it waits for
an answer still on its way or, with none, until the reset or until a token has come back, whichever
is sooner.

When a token comes back is learned, not assumed: each bucket's refill rate is bounded from below by
successive answers (what `remaining` gained over the measured time, plus the requests certainly
served in between). The reset header alone has one-second resolution: on Free's 2-token bucket,
waiting for it woke the pacer to a full bucket once a second, and any delay between its two
requests cost that second a token (1.7 requests/s of 2). With the learned rate, an empty bucket is
paced one token's refill time apart; a 429 on a bucket paced that way makes the pacer drop the rate
for the rest of the sync and go back to the reset header.

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
from collections import deque
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

# Answers kept per bucket to learn its refill rate from. The bound improves with the span they cover
# (about one token short over the span): 64 answers span 32 s on Free (2/s), 38 s on Essentials'
# logs bucket (100/min), 1.3 s at 50/s, and the bound learned on a fake clock was 98.6%, 99.4% and
# 99.0% of those rates.
REFILL_SAMPLES = 64
# Spans start at every 16th kept answer too: with the three streams on Free, a group's own answers
# showed a third of the rate while the others drew on the bucket, and the log stream, alone after
# them, paced at the reset header's 1.6-1.7 requests/s for 20 s until the oldest span had moved past
# them. The four spans cost 12 µs an answer (measured on this 2-core machine).
REFILL_ANCHOR_STEP = 16
# The learned rate is a lower bound already; the interval is stretched by this much more against
# what the bound does not model (a clock step, a server that refills in coarser steps than it says).
# It costs almost nothing: a request late on a bucket below its cap loses no token, the next
# answer's `remaining` shows what built up. On a fake clock with the sandbox's Free bucket (1 and 3
# streams, 1-150 ms round trips, test_rate_limit_pacing.py) margins from 0 to 20% all reach 0.996
# or more of the rate over 120 s; 50% falls to 0.86-0.98. 10% is half the margin shown to be free.
REFILL_MARGIN = 0.10
# Float slack on the token count: a wait computed to end exactly as the token is back may end a
# rounding error short of it.
TOKEN_EPSILON = 1e-6
# The shortest wait for a refill while an answer is due: an epoch-seconds float resolves only
# 0.2 µs, so a shorter wait could leave the clock where it was and spin.
MIN_REFILL_POLL_SECONDS = 0.001

TENANT = "*"  # the tenant-wide bucket every Management API group shares on Free and Enterprise
MANAGEMENT_GROUPS = ("users", "logs", "organizations", "other")


@dataclass
class Sample:
    """One answer, for learning the bucket's refill rate."""

    sent_at: float
    received_at: float
    remaining: int


@dataclass
class Bucket:
    limit: int | None = None
    remaining: float | None = None  # a lower bound at `as_of`: from the answers so far, minus what was sent since
    as_of: float = 0.0
    reset_epoch: float | None = None
    in_flight: int = 0  # sent, not answered yet (several threads may share a bucket)
    sent: int = 0  # requests sent, ever
    settled: int = 0  # answers received or requests abandoned, ever
    refill: float = 0.0  # learned lower bound of the refill rate, tokens/s (0: none yet)
    refill_distrusted: bool = False  # a 429 came while pacing on `refill`: the reset header only
    samples: deque[Sample] = field(default_factory=lambda: deque(maxlen=REFILL_SAMPLES))

    def forget(self, distrust_refill: bool) -> None:
        """After a 429: the state is unknown; the requests are still counted."""
        self.limit = self.remaining = self.reset_epoch = None
        self.refill = 0.0
        self.samples.clear()
        self.refill_distrusted = self.refill_distrusted or distrust_refill

    def usable_refill(self) -> float:
        """Tokens/s to pace on: the learned bound less the margin; 0 without a bound or a cap."""
        if self.refill_distrusted or self.limit is None:
            return 0.0  # without the cap, refill could not be bounded by the bucket's size
        return self.refill / (1 + REFILL_MARGIN)

    def tokens(self, now: float) -> float | None:
        """The lower bound of tokens left at `now`, refill included, or None when unknown.

        Refill never takes it above the bucket's size less the requests in flight (one of them may
        not have been served yet), nor the bound below what the answers already showed."""
        if self.remaining is None:
            return None
        grown = self.remaining + self.usable_refill() * max(0.0, now - self.as_of)
        if self.limit is None:
            return grown
        return min(grown, max(self.remaining, self.limit - self.in_flight))

    def spend(self, now: float) -> None:
        tokens = self.tokens(now)
        if tokens is not None:
            self.remaining, self.as_of = tokens - 1, now

    def learn_refill(self, answer: Sample) -> None:
        """Raise the refill bound with what this answer and the kept ones show."""
        bound = refill_lower_bound(self.samples, answer)
        self.samples.append(answer)
        if bound is not None and bound > self.refill:
            self.refill = bound


def refill_lower_bound(samples: deque[Sample], last: Sample) -> float | None:
    """Tokens/s the bucket certainly refills, as the best of the spans from every REFILL_ANCHOR_STEP-th
    kept answer to `last`, or None. The oldest span is the longest (the closest bound); later ones
    rise sooner once other requests stop drawing on the bucket (another group's stream ends)."""
    bounds = [span_lower_bound(samples, first, last) for first in list(samples)[::REFILL_ANCHOR_STEP]]
    return max((bound for bound in bounds if bound is not None), default=None)


def span_lower_bound(samples: deque[Sample], first: Sample, last: Sample) -> float | None:
    """Tokens/s the bucket certainly refilled from `first` to `last`, or None.

    Between the two answers the bucket gained more than `last.remaining - first.remaining - 1`
    (`remaining` is the whole part of the tokens) plus every request certainly served in between:
    sent after `first` came back and answered before `last` was sent, and `last` itself. Other
    requests in between (other clients, answers in flight) only make the count, and the bound,
    lower. The span is at most from `first`'s send to `last`'s receipt. A bucket at its cap in
    between gains less, so the bound is lower again: it only ever errs low.
    """
    if last.sent_at <= first.received_at:
        return None  # `last` may have been served before `first`
    served = 1 + sum(1 for s in samples if s.sent_at > first.received_at and s.received_at <= last.sent_at)
    gained = last.remaining - first.remaining + served - 1
    span = last.received_at - first.sent_at
    return gained / span if gained > 0 and span > 0 else None


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
                now = self._clock()
                names = self._bucket_names(key)
                buckets = {name: self._buckets.setdefault(name, Bucket()) for name in names}
                answers = sum(bucket.settled for bucket in buckets.values())
                if answers != answers_seen:  # progress: the requests we wait for are being answered
                    polled, answers_seen = 0.0, answers
                states = {name: self._state(bucket, now, polled) for name, bucket in buckets.items()}
                polls = [wait for state, wait in states.values() if state == "poll"]
                if polls:
                    wait, ticket = min(polls), None  # an answer on its way will tell more
                    polled += wait
                else:
                    wait = max(0.0, *(wait for _, wait in states.values()))
                    ticket = self._send(key, buckets, now, probe={n for n, (s, _) in states.items() if s == "reset"})
            if wait > 0:
                self.waited_pacing += wait
                self._sleep(wait)
            if ticket is not None:
                ticket.sent_at = self._clock()  # after the wait: when it really goes
                return ticket

    @staticmethod
    def _state(bucket: Bucket, now: float, polled: float) -> tuple[str, float]:
        """What a request may do about one bucket, and the wait before: "go" (0), "poll" (wait for
        an answer in flight), "refill" (go once the learned refill has brought a token back) or
        "reset" (go at the reset as the probe that learns the refilled state)."""
        answer_due = bucket.in_flight > 0 and polled < PROBE_MAX_WAIT_SECONDS
        tokens = bucket.tokens(now)
        if tokens is None:
            return ("poll", PROBE_POLL_SECONDS) if answer_due else ("go", 0.0)  # unknown: the request out will tell
        rate = bucket.usable_refill()
        if tokens >= 1 - TOKEN_EPSILON or (bucket.reset_epoch is None and not rate):
            return "go", 0.0
        to_refill = (1 - tokens) / rate if rate else None
        if answer_due:  # empty by our count: an answer on its way tells what refilled, maybe sooner
            return "poll", min(PROBE_POLL_SECONDS, max(MIN_REFILL_POLL_SECONDS, to_refill or PROBE_POLL_SECONDS))
        to_reset = bucket.reset_epoch + RESET_MARGIN_SECONDS - now if bucket.reset_epoch is not None else None
        if to_refill is not None and (to_reset is None or to_refill <= to_reset):
            return "refill", to_refill
        return "reset", to_reset

    def _send(self, key: str, buckets: dict[str, Bucket], now: float, probe: set[str]) -> Ticket:
        settled = {}
        for name, bucket in buckets.items():
            if name in probe:
                bucket.remaining = None  # this request's answer tells the refilled state
            else:
                bucket.spend(now)  # spend our own estimate until the next response corrects it
            bucket.in_flight += 1
            bucket.sent += 1
            settled[name] = bucket.settled
        return Ticket(key, settled, now)

    def observe(self, key: str, response: httpx.Response, ticket: Ticket) -> None:
        """Learn the buckets from an answer, never overestimating them.

        Answers can be served and arrive in another order than they were sent, so an answer may
        not have seen the tokens of requests sent before it was answered. Every request that had
        not been answered when this one was sent, or was sent after it, may have been served after
        it: all of them are subtracted. That is a lower bound whatever the order; the larger of it
        and the current estimate (also a lower bound) is kept. A success also teaches the refill
        rate; other answers may not have spent a token (a 429 does not, a gateway's 5xx may not).
        """
        remaining = _int_header(response, "x-ratelimit-remaining")
        limit = _int_header(response, "x-ratelimit-limit")
        with self._lock:
            now = self._clock()
            for name, settled_when_sent in ticket.settled_when_sent.items():
                bucket = self._buckets.setdefault(name, Bucket())
                current = bucket.tokens(now)
                self._settle(bucket)
                if remaining is None:
                    continue
                lower_bound = remaining - (bucket.sent - 1 - settled_when_sent)
                bucket.limit = limit
                bucket.remaining = lower_bound if current is None else max(current, lower_bound)
                bucket.as_of = now
                bucket.reset_epoch = _int_header(response, "x-ratelimit-reset")
                if response.is_success:
                    bucket.learn_refill(Sample(ticket.sent_at, now, remaining))
            own = self._buckets.get(key)
            # A 429 tells nothing about sharing (it may be injected, or another client's doing).
            if (remaining is not None and response.status_code != 429 and own is not None
                    and key in MANAGEMENT_GROUPS and key in ticket.settled_when_sent):
                self.shape.learn(key, Answer(remaining, limit, ticket, own.settled, now), own)

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
                bucket = self._buckets.setdefault(name, Bucket())
                bucket.forget(distrust_refill=bucket.usable_refill() > 0)
            if self.waited_on_429 + wait > self.max_wait_seconds:
                reset_at = datetime.fromtimestamp(max(now + wait, reset or 0), tz=timezone.utc)
                raise Auth0RateLimitError(reset_at, self.waited_on_429, self.max_wait_seconds, path)
            self.waited_on_429 += wait
        self._sleep(wait)
