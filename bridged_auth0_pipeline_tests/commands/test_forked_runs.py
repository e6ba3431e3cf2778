"""`sync --all`'s forked runs report each run's own exit status, however many end and start at once."""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from multiprocessing.connection import Connection

from bridged_auth0_pipeline.commands import forked_runs


def ends_with_its_status(key: str, output: Connection) -> None:
    """A run that does nothing: its key is the exit status it must be reported with."""
    os.write(output.fileno(), f"{key}\n".encode())
    sys.exit(int(key))


def test_runs_ending_while_others_start_keep_their_own_exit_status():
    # Starting a child reads every earlier child's status that has arrived; a read racing the
    # owner's left the status 255. Unfixed, 4 threads of 50 runs each got ~9 % of them wrong.
    forked_runs.start_server()
    reported: Counter = Counter()

    def one_slot(statuses: list[int]) -> None:
        for status in statuses:
            run = forked_runs.ForkedRun(str(status), target=ends_with_its_status)
            assert run.stdout.read() == f"{status}\n"
            reported[(status, run.wait())] += 1

    slots = [threading.Thread(target=one_slot, args=([0, 1, 2, 3, 4] * 10,)) for _ in range(4)]
    for slot in slots:
        slot.start()
    for slot in slots:
        slot.join(timeout=300)
    assert reported == Counter({(status, status): 40 for status in range(5)})
