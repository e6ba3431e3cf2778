"""`sync --all`'s runs, each forked from a process that has imported the code location once.

A run in a fresh interpreter first imports Dagster, this code location and the instance's storage
modules (SQLAlchemy, Alembic): a 10k-user full sync costs 5.3 CPU-s that way and 4.5 forked from a
process that has imported them; a no-change sync 3.0 and 2.0. (Before the teardown at exit was cut,
orchestration/frozen_heap.py, a fresh interpreter cost 6.8 and 3.9, a third of a 2-core worker
syncing many tenants.) Python's forkserver imports them once, in a server
process with one thread (so forking it is safe), and forks every run from it: each run is still its
own process and its own Dagster run, so a crash, a kill or a leak stays that run's. (Dagster's
multiprocess executor offers the same for steps: `start_method: forkserver` with a preload list.)
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.connection
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import IO

from bridged_auth0_pipeline.commands import process_groups

# What a run imports: the code location up front, the rest when the instance opens and the run
# executes. A module missing from this Dagster version is skipped by the forkserver.
PRELOAD = [
    "bridged_auth0_pipeline.commands.run_tenant",
    "bridged_auth0_pipeline.orchestration.instance.sqlite",
    "dagster._core.instance.factory",
    "dagster._core.storage.sql",
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
    "dagster._core.executor.in_process",
    "dagster._core.remote_representation",
    "httpcore",
]


def run_tenant_command(key: str) -> list[str]:
    """The same run in a fresh interpreter: `sync --tenant`, and platforms without a forkserver."""
    return [sys.executable, "-m", "bridged_auth0_pipeline.commands.run_tenant", key]


def _available() -> bool:
    return "forkserver" in multiprocessing.get_all_start_methods()


def start(key: str, concurrent_runs: int = 1) -> ForkedRun | subprocess.Popen:
    """Start `key`'s run: forked from the server, or where there is none (Windows) a fresh interpreter.
    A forked run's DuckDB takes its share of the cores, `concurrent_runs` sharing them."""
    if _available():
        return ForkedRun(key, functools.partial(_run, concurrent_runs=concurrent_runs))
    return subprocess.Popen(run_tenant_command(key), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **process_groups.popen_options())


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_server() -> None:
    """Start the forkserver now, from this process's environment: before any thread needs it."""
    if not _available():
        return
    _context()
    from multiprocessing import forkserver

    forkserver.ensure_running()


# The forkserver sends each child's exit status once, down one pipe, and whichever thread reads it
# first gets it: a second reader at the same moment gets end-of-file and records 255. Process.start()
# reads every earlier child's status that has arrived (multiprocessing's _cleanup), so a run ending
# while another thread started the next one could be reported FAILED with status 255 although it
# had succeeded (make bench-tenants saw it once in 120 runs; 4 threads starting 400 short children
# got 35-40 wrong statuses, 0 with this lock). Every start and every read of a status takes it.
_STATUS_READ = threading.Lock()


class ForkedRun:
    """One tenant's run in a forked process; `pid`, `stdout` (its output, stderr included) and
    `wait()` as subprocess.Popen has them, so `follow` reads it like any command."""

    def __init__(self, key: str, target: Callable[[str, Connection], None] | None = None):
        context = _context()
        reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=target or _run, args=(key, writer), name=f"auth0_sync {key}")
        with _STATUS_READ:
            self.process.start()
        writer.close()  # the child holds the only write end: its exit ends the output
        self.stdout: IO[str] = open(os.dup(reader.fileno()), encoding="utf-8", errors="replace")
        reader.close()
        self.pid = self.process.pid

    def wait(self) -> int:
        """The exit status: negative for a signal, as Popen's. Thread-safe, as Popen's."""
        multiprocessing.connection.wait([self.process.sentinel])  # until it has ended, without reading
        with _STATUS_READ:
            self.process.join()
        return self.process.exitcode


def _run(key: str, output: Connection, concurrent_runs: int = 1) -> None:
    process_groups.lead_own_group()
    os.dup2(output.fileno(), 1)
    os.dup2(output.fileno(), 2)
    output.close()
    from bridged_auth0_pipeline.commands.run_tenant import main
    from bridged_auth0_pipeline.store.database import share_cores

    share_cores(concurrent_runs)
    sys.exit(main(key))
