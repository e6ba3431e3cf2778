"""A run's process and what it starts, as one process group that ends with the run.

Dagster mirrors a step's captured output to the run's stdout with `tail -F`, and starts a watcher
that ends the tail if the run dies, but only after starting the tail. A run killed between the
two (an out-of-memory kill can land anywhere) left a `tail -F` running for ever, holding the run's
output pipe open: `sync --all` waited on it for good (CI, under load, a run killed early in a step).
So each run leads its own process group, and once its process has exited whatever is left in the
group is killed. A group of its own no longer gets the terminal's Ctrl-C, nor a SIGTERM sent to
`sync`'s group (`timeout`, a supervisor): `sync` passes both on as Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

POSIX = hasattr(os, "killpg")
_running: set[int] = set()  # the group of every run being followed (a run's group id is its pid)
interrupted: set[int] = set()  # the runs Ctrl-C was passed to


def lead_own_group() -> None:
    """In a run's process, before it starts anything."""
    if POSIX:
        os.setpgid(0, 0)


def popen_options() -> dict:
    """subprocess.Popen's arguments for a run in a fresh interpreter."""
    return {"process_group": 0} if POSIX else {}


def end_leftovers_when_done(pid: int, wait: Callable[[], object]) -> None:
    """Once the run `pid` has exited (`wait` returns), kill what it left in its group, which closes
    the pipes they held."""
    if not POSIX:
        return
    _running.add(pid)

    def reap() -> None:
        wait()
        _running.discard(pid)
        _signal_group(pid, signal.SIGKILL)

    threading.Thread(target=reap, name=f"end leftovers of run process {pid}", daemon=True).start()


def interrupt_runs() -> None:
    """Ctrl-C for every run being followed: Dagster's own SIGINT handling marks each run failed."""
    for group in list(_running):
        interrupted.add(group)
        _signal_group(group, signal.SIGINT)


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):  # nothing left in it
        pass


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within it, SIGTERM to this (main-thread) process is Ctrl-C: its runs are interrupted too."""
    if not POSIX or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
