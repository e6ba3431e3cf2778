"""`bridged-auth0 dev --help` shows `dagster dev`'s help and serves nothing: with no tenant
configured, `dev` would otherwise start the built-in sandbox first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("bridged-auth0"))


def test_dev_help_starts_no_sandbox(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_", "DAGSTER_"))}
    env.update(BRIDGED_CONNECTIONS_PATH=str(tmp_path / "connections.db"), DAGSTER_HOME=str(tmp_path))
    result = subprocess.run([CLI, "dev", "--help"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "dagster dev" in result.stdout
    assert "sandbox" not in result.stdout + result.stderr
