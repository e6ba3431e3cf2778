"""A DAGSTER_HOME for the Dagster processes the commands start, when the environment has none.

Without DAGSTER_HOME, Dagster's CLI makes a throwaway instance in the current folder with
./dagster.yaml's settings. The repository's dagster.yaml names an event log storage that finds its
files through DAGSTER_HOME (orchestration/instance/sqlite.py), so the commands make the throwaway
home themselves, the way Dagster would: a `.tmp_dagster_home_*` folder here, with a copy of
./dagster.yaml when there is one, removed when the command ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Dagster's own prefix for its throwaway homes (dagster/_cli/utils.py), already in .gitignore.
TMP_DAGSTER_HOME_PREFIX = ".tmp_dagster_home_"


@contextmanager
def dagster_home_in(env: dict[str, str]) -> Iterator[None]:
    """Set env["DAGSTER_HOME"] to a throwaway home for the duration, unless it is set."""
    if env.get("DAGSTER_HOME"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix=TMP_DAGSTER_HOME_PREFIX, dir=os.getcwd()) as home:
        if Path("dagster.yaml").is_file():
            shutil.copy("dagster.yaml", Path(home) / "dagster.yaml")
        env["DAGSTER_HOME"] = home
        try:
            yield
        finally:
            del env["DAGSTER_HOME"]
