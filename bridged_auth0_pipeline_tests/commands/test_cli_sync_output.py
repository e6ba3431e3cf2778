"""`bridged-auth0 sync` as a person reads it: the pipeline's own lines and an end that says what
happened; Dagster's DEBUG stream stays in the log file; a failed run ends with its cause and fix."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT, pipeline_process_env

CLI = str(Path(sys.executable).with_name("bridged-auth0"))
pytestmark = pytest.mark.slow


def sync(env: dict[str, str], home: Path) -> subprocess.CompletedProcess:
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    return subprocess.run([CLI, "sync"], env={**env, "DAGSTER_HOME": str(home)}, capture_output=True, text=True,
                          timeout=300, cwd=REPO_ROOT)


def test_a_sync_prints_its_steps_and_an_end_that_says_what_next(sandbox_factory, tmp_path):
    server = sandbox_factory(SandboxTenant.generate(users=80, seed=61))
    result = sync(pipeline_process_env(server, tmp_path / "warehouse.duckdb"), tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert " - DEBUG - " not in out + result.stderr and "Warning" not in out + result.stderr
    assert "Users extraction: full (first sync)" in out and "done: warehouse_tables" in out
    passed = re.search(r"^checks: (\d+) passed, 0 failed\.$", out, re.MULTILINE)
    assert passed and int(passed[1]) >= 20, out  # the tables' and the views' checks, every one reported
    assert "auth0.users" in out and "80 rows" in out and "make dev" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("default: synced in ") and "(run " in last and str(tmp_path / "warehouse.duckdb") in last
    (log,) = (tmp_path / "home" / "logs").glob("sync-default-*.log")
    assert " - DEBUG - " in log.read_text(), "the whole Dagster log is kept"


def test_a_failed_sync_ends_with_its_cause_and_fix(sandbox_factory, tmp_path):
    server = sandbox_factory(SandboxTenant.generate(users=20, seed=62))
    env = {**pipeline_process_env(server, tmp_path / "warehouse.duckdb"), "AUTH0_CLIENT_SECRET": "wrong"}
    result = sync(env, tmp_path / "home")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("default: FAILED in ")
    assert "Auth0 rejected the client credentials. Fix: verify AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET" in lines[-1]
    assert "Traceback" not in result.stdout + result.stderr
