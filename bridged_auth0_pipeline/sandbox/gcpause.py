"""Pause Python's cyclic garbage collector around bulk allocations.

Building a million-entry index or tenant allocates millions of small objects; every few thousand
allocations the collector would rescan the whole (large, acyclic) heap, tripling the run time.
Nested and concurrent pauses are counted, so the collector comes back only when the last ends.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
