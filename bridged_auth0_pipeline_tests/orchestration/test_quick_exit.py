"""A process that loads the code location skips CPython's last garbage collections at exit."""

import subprocess
import sys

from bridged_auth0_pipeline_tests.helpers import REPO_ROOT

# The handler registered first runs last: by then the code location's gc.freeze has run.
SCRIPT = """
import atexit, gc, sys
atexit.register(lambda: sys.stdout.write(f"frozen {gc.get_freeze_count()}"))
import bridged_auth0_pipeline.definitions
"""


def test_loading_the_code_location_freezes_the_heap_at_exit():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen = int(done.stdout.split("frozen ")[-1])
    assert frozen > 50_000, done.stdout  # Dagster alone leaves over 100,000 tracked objects
