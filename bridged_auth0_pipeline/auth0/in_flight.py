"""Where several requests are put in flight at once: independent page walks advanced in threads.

A checkpoint walk (logs, role members) learns its next cursor from the previous answer, so one
walk never has more than one request out; at 100 ms of network latency that is about 10 requests
a second, far below Auth0's bucket. Several walks over disjoint ranges, each advanced in a worker
thread, fill the bucket instead. The pacer (`rate_limit.py`) counts the requests in flight and
keeps them inside the bucket, so adding walks never causes a 429. How many walks: enough to reach
FILL_RATE at the round trip the session measures (1 against a local sandbox, 8 at 100 ms).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice
from typing import TypeVar

from bridged_auth0_pipeline.auth0.session import Auth0Session, counted_for, request_stream

T = TypeVar("T")
MAX_WALKS_IN_FLIGHT = 8
# Requests/s to aim for: above every plan's sustained rate (Enterprise: 16/s sustained) and the
# rate the benchmark runs at. More walks than needed only wait in the pacer.
FILL_RATE = 50
_DONE = object()


def walks_to_fill_the_bucket(session: Auth0Session) -> int:
    """Twice what the average round trip needs: round trips vary, and pacing waits leave gaps."""
    round_trip = session.stats.round_trip_seconds or 0.0
    return max(1, min(MAX_WALKS_IN_FLIGHT, math.ceil(2 * round_trip * FILL_RATE)))


def interleave(walks: Iterable[Iterator[T]], *, max_in_flight: int = MAX_WALKS_IN_FLIGHT) -> Iterator[T]:
    """Yield the items of every walk as they arrive, up to `max_in_flight` walks advancing at once.

    Each walk runs one step ahead in its worker (its next page is fetched while the caller stages
    the previous one), so at most 2 × `max_in_flight` items are held. An error in any walk stops
    the rest and is raised here. The workers' requests count for the calling thread's stream.
    """
    stream = request_stream()

    def advance(walk: Iterator[T]):
        with counted_for(stream):
            return next(walk, _DONE)

    waiting = iter(walks)
    pending: dict[Future, Iterator[T]] = {}
    with ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="auth0-walk") as pool:
        try:
            for walk in islice(waiting, max_in_flight):
                pending[pool.submit(advance, walk)] = walk
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    walk = pending.pop(future)
                    item = future.result()
                    if item is _DONE:  # a finished walk makes room for the next one
                        walk = next(waiting, None)
                        if walk is not None:
                            pending[pool.submit(advance, walk)] = walk
                    else:
                        pending[pool.submit(advance, walk)] = walk
                        yield item
        finally:
            for future in pending:
                future.cancel()
