"""A process that loads the code location keeps its long-lived objects out of the collector's way."""

import subprocess
import sys

from bridged_auth0_pipeline_tests.helpers import REPO_ROOT

# The exit handler registered first runs last: by then the code location's own has run.
SCRIPT = """
import atexit, gc, sys
atexit.register(lambda: print(f"at exit {gc.get_freeze_count()}"))
import bridged_auth0_pipeline.definitions
print(f"loaded {gc.get_freeze_count()}")
made_later = [[] for _ in range(10_000)]  # a run's own objects stay with the collector until the exit
print(f"during the run {gc.get_freeze_count()}")
"""


def test_loading_the_code_location_freezes_the_heap_and_again_at_exit():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = dict(line.rsplit(" ", 1) for line in done.stdout.splitlines())
    loaded, during, at_exit = int(counts["loaded"]), int(counts["during the run"]), int(counts["at exit"])
    assert loaded > 50_000  # Dagster alone leaves over 100,000 tracked objects
    assert during == loaded
    assert at_exit > loaded + 5_000  # the lists too (some frozen objects were freed meanwhile)
