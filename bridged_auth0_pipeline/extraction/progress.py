"""How far each extraction stream has come, for the `progress:` lines a person follows on long work.

Each stream's thread counts what flows through its iterators (pages, records by kind); the users
stream adds the export job's state, the log stream how much of the log's time span it has read.
The reporter (extraction/assets.py) reads them from its own thread: one lock per stream keeps a
line's numbers from different moments apart. Lines are plain text, for the Dagster UI as for
`bridged-auth0 sync`; a fraction, when known, is one `NN%` token that the console draws as a bar.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from bridged_auth0_pipeline.auth0 import exports
from bridged_auth0_pipeline.auth0.timestamps import parse_timestamp


def duration(seconds: float) -> str:
    """'3 d 4 h', '5 h 12 min', '12 min 5 s', '40 s': the two largest units, enough to plan by."""
    seconds = max(0, round(seconds))
    for big, big_name, small, small_name in ((86400, "d", 3600, "h"), (3600, "h", 60, "min"), (60, "min", 1, "s")):
        if seconds >= big:
            rest = (seconds % big) // small
            return f"{seconds // big} {big_name}" + (f" {rest} {small_name}" if rest else "")
    return f"{seconds} s"


def counted(count: int, kind: str) -> str:
    """'1 page', '12,300 events': `kind` is a regular plural."""
    return f"{count:,} {kind.removesuffix('s') if count == 1 else kind}"


class LogCoverage:
    """How much of the log's time span, from the first event read to now, the read has covered.

    Each page covers the time from its first to its last event. Lanes read distinct stretches of
    the span at once, so their pages' spans add up without overlap; between two pages of one walk
    only the time to the next event is missed. The ETA assumes events spread evenly over time and
    the read keeps its pace in log time per wall second. No request is spent on any of it.
    """

    def __init__(self):
        self.start: datetime | None = None
        self.newest: datetime | None = None
        self.covered = timedelta(0)

    def add(self, page: list[dict]) -> None:
        dates = [d for d in (parse_timestamp(e.get("date")) for e in page) if d is not None]
        if not dates:
            return
        first, last = min(dates), max(dates)
        self.start = first if self.start is None else min(self.start, first)
        self.newest = last if self.newest is None else max(self.newest, last)
        self.covered += last - first

    def span(self, now: datetime) -> timedelta:
        return max(now - self.start, timedelta(0)) if self.start else timedelta(0)

    def backlog(self, now: datetime) -> timedelta:
        """Log time not read yet."""
        return max(self.span(now) - self.covered, timedelta(0))

    def fraction(self, now: datetime) -> float | None:
        span = self.span(now)
        return min(self.covered / span, 1.0) if span > timedelta(0) else None

    def eta_seconds(self, now: datetime, wall_seconds: float) -> float | None:
        """Wall seconds until the backlog is read, at the pace so far (None before there is one)."""
        pace = self.covered.total_seconds() / wall_seconds if wall_seconds > 0 else 0.0
        return self.backlog(now).total_seconds() / pace if pace > 0 else None


class StreamProgress:
    """One stream's counts. The stream's thread writes, the reporter reads; `version` tells the
    reporter whether anything moved since its last line."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic):
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self.started = clock()
        self.finished: float | None = None
        self.outcome = "done"
        self.pages = 0
        self.counts: dict[str, int] = {}  # records by kind, in the order they were first seen
        self.job: tuple[str, int | None] | None = None  # the users export job: (status, percent done)
        self.phase: str | None = None  # what the stream does once its records are read
        self.log = LogCoverage()
        self.version = 0

    def _count(self, kind: str, records: int, pages: int = 0) -> None:
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + records
            self.pages += pages
            self.version += 1

    def pages_of(self, pages: Iterable[list[dict]], kind: str, *, dated: bool = False) -> Iterator[list[dict]]:
        """Pass the pages on, counting them; `dated`: the records carry `date` (log events)."""
        for page in pages:
            if dated:
                with self._lock:
                    self.log.add(page)
            self._count(kind, len(page), pages=1)
            yield page

    def keyed_pages_of(self, pages: Iterable[tuple[str, list[dict]]], kind: str) -> Iterator[tuple[str, list[dict]]]:
        """The same for (owner id, page) pairs: role and organization member pages."""
        for key, page in pages:
            self._count(kind, len(page), pages=1)
            yield key, page

    def records_of(self, records: Iterable, kind: str, *, then: str | None = None) -> Iterator:
        """Pass the records on, counting them; `then`: the phase once they are all read. Counted a
        hundred at a time: a lock per record costs 0.3 s per million export lines."""
        unseen = 0
        try:
            for record in records:
                unseen += 1
                if unseen == 100:
                    self._count(kind, unseen)
                    unseen = 0
                yield record
        finally:
            self._count(kind, unseen)
        with self._lock:
            self.phase = then
            self.version += 1

    def while_doing(self, phase: str, work: Callable[[], None]) -> Callable[[], None]:
        """`work`, reported as `phase` while it runs (a member list waiting for the log events)."""
        def run() -> None:
            with self._lock:
                before, self.phase = self.phase, phase
                self.version += 1
            try:
                work()
            finally:
                with self._lock:
                    self.phase = before
                    self.version += 1
        return run

    def job_state(self, status: str, percent: int | None) -> None:
        with self._lock:
            self.job = (status, percent)
            self.version += 1

    @contextmanager
    def following_export_jobs(self) -> Iterator[None]:
        """Within the block, this thread's users export jobs report their state here."""
        token = exports.job_state_listener.set(self.job_state)
        try:
            yield
        finally:
            exports.job_state_listener.reset(token)

    def finish(self, outcome: str = "done") -> None:
        with self._lock:
            self.finished, self.outcome = self._clock(), outcome
            self.version += 1

    def line(self, now: datetime | None = None) -> str:
        """`login_events 12,300 events, 123 pages, 24.5 pages/s, backlog 3 d 4 h (58% read), ETA ~40 s`."""
        now = now or datetime.now(timezone.utc)
        with self._lock:
            elapsed = (self.finished or self._clock()) - self.started
            parts = [counted(count, kind) for kind, count in self.counts.items()]
            if self.pages:
                parts.append(counted(self.pages, "pages"))
            if self.finished is not None:
                return f"{self.name} {self.outcome}: {', '.join(parts) or 'nothing read'} in {duration(elapsed)}"
            if self.job and self.job[0] != "completed":
                status, percent = self.job
                parts.insert(0, f"export job {status}" + (f" {percent}%" if percent is not None else ""))
            elif self.job and not self.counts:  # the file is downloading: no bar at 100 %
                parts.insert(0, "export job completed")
            if self.phase:
                parts.append(self.phase)
            elif self.pages:
                parts.append(f"{self.pages / max(elapsed, 1e-9):.1f} pages/s")
            elif self.counts:
                kind, count = next(iter(self.counts.items()))
                parts.append(f"{count / max(elapsed, 1e-9):,.0f} {kind}/s")
            if self.log.start is not None:
                fraction = self.log.fraction(now)
                parts.append(f"backlog {duration(self.log.backlog(now).total_seconds())}"
                             + (f" ({fraction:.0%} read)" if fraction is not None else ""))
                eta = self.log.eta_seconds(now, elapsed)
                if eta is not None:
                    parts.append(f"ETA ~{duration(eta)}")
            return f"{self.name} {', '.join(parts) or 'starting'}"


class Progress:
    """Every stream of one extraction step; `report()` gives the lines worth a reader's time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.streams: dict[str, StreamProgress] = {}
        self._shown: dict[str, int] = {}

    def stream(self, name: str) -> StreamProgress:
        self.streams[name] = StreamProgress(name, self._clock)
        return self.streams[name]

    def report(self, now: datetime | None = None) -> list[str]:
        """A line per stream that moved since the last report; a finished stream's `done:` (or
        `failed:`) line once."""
        lines = []
        for name, stream in self.streams.items():
            version = stream.version
            if version and version != self._shown.get(name):
                lines.append(stream.line(now))
                self._shown[name] = version
        return lines
