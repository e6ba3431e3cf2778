"""`bridged-auth0 sync` as a person reads it: the pipeline's own lines and an end that says what
happened; Dagster's DEBUG stream stays in the log file; a failed run ends with its cause and fix."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bridged_auth0_pipeline.commands.follow import ProgressBlock, bar, follow, progress_row
from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline.sandbox.faults import Faults
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT, pipeline_process_env

CLI = str(Path(sys.executable).with_name("bridged-auth0"))


def sync(env: dict[str, str], home: Path) -> subprocess.CompletedProcess:
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    return subprocess.run([CLI, "sync"], env={**env, "DAGSTER_HOME": str(home)}, capture_output=True, text=True,
                          timeout=300, cwd=REPO_ROOT)


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_sync_without_dagster_home_runs_in_a_throwaway_one(sandbox_factory, tmp_path):
    """From a folder with the repository's dagster.yaml and no DAGSTER_HOME (`.venv/bin/bridged-auth0 sync`
    in a clone): Dagster's own throwaway instance could not find the event log's files; ours can."""
    server = sandbox_factory(SandboxTenant.generate(users=30, seed=62))
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    env = pipeline_process_env(server, tmp_path / "warehouse.duckdb")
    assert "DAGSTER_HOME" not in env
    result = subprocess.run([CLI, "sync"], env=env, capture_output=True, text=True, timeout=300, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("default: synced in ")
    assert sorted(path.name for path in folder.iterdir()) == ["dagster.yaml", "data"], "the throwaway home is gone"


@pytest.mark.slow
def test_long_work_prints_progress_per_stream_as_plain_lines(sandbox_factory, tmp_path):
    """Not a terminal: plain `progress:` lines, one per stream, with its records (the interval shortened
    from 5 s; 40 ms a request so the streams outlast a few intervals)."""
    server = sandbox_factory(SandboxTenant.generate(users=300, seed=63, logs_per_user=4),
                             faults=Faults(latency_seconds=(0.04, 0.04)), export_seconds=1.0)
    env = {**pipeline_process_env(server, tmp_path / "warehouse.duckdb"), "BRIDGED_PROGRESS_EVERY_SECONDS": "0.2"}
    result = sync(env, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "\033[" not in out and "\r" not in out, "no cursor codes when stdout is not a terminal"
    progress = re.findall(r"^  staged_extraction: progress: (\S+) (.*)$", out, re.MULTILINE)
    by_stream = {}
    for stream, what in progress:
        by_stream.setdefault(stream, []).append(what)
    assert re.search(r"\d+ events, \d+ pages, [\d.]+ pages/s, backlog .+ \(\d+% read\)", " | ".join(by_stream["login_events"])), out
    assert f"done: {len(server.tenant.logs):,} events" in by_stream["login_events"][-1], out
    assert any(re.match(r"export job \w+", what) for what in by_stream["users"]), out
    assert by_stream["users"][-1].startswith("done: 300 records"), out
    assert by_stream["roles"][-1].startswith("done: ") and "members" in by_stream["roles"][-1], out
    assert any(re.match(r"[\d,]+ to the Management API \(.*logs [\d,]+.*\), [\d.]+/s$", w) for w in by_stream["requests"]), out


@pytest.mark.slow
def test_a_failed_sync_ends_with_its_cause_and_fix(sandbox_factory, tmp_path):
    server = sandbox_factory(SandboxTenant.generate(users=20, seed=62))
    env = {**pipeline_process_env(server, tmp_path / "warehouse.duckdb"), "AUTH0_CLIENT_SECRET": "wrong"}
    result = sync(env, tmp_path / "home")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("default: FAILED in ")
    assert "Auth0 rejected the client credentials. Fix: verify AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET" in lines[-1]
    assert "Traceback" not in result.stdout + result.stderr


# The console's rendering of `progress:` lines, on a fake run's log ------------------------------

RUN_ID = "0123abcd-0000-4000-8000-000000000000"


def dagster_line(message: str, level: str = "INFO", step: str = "staged_extraction") -> str:
    return f"2026-11-30 12:00:00 +0000 - dagster - {level} - auth0_sync - {RUN_ID} - {step} - {message}"


def step_success(step: str) -> str:
    return dagster_line(f'STEP_SUCCESS - Finished execution of step "{step}" in 1.5s.', "DEBUG", f"4242 - {step}")


FAKE_RUN = [
    dagster_line("Users extraction: full (first sync)"),
    dagster_line("progress: login_events 200 events, 2 pages, 9.3 pages/s, backlog 86 d 6 h (5% read), ETA ~4 s"),
    dagster_line("progress: users export job processing 45%"),
    dagster_line("Users export job_1: processing, 48% done"),
    dagster_line("progress: requests 13 to the Management API (logs 3, other 10), 55.7/s"),
    dagster_line("progress: login_events 800 events, 8 pages, 17.5 pages/s, backlog 72 d 22 h (58% read), ETA ~2 s"),
    dagster_line("progress: users done: 300 records in 1 s"),
    dagster_line("progress: login_events done: 1,351 events, 14 pages in 1 s"),
    step_success("staged_extraction"),
    dagster_line("Loaded the warehouse", step="warehouse_tables"),
]


def screen(written: str) -> list[str]:
    """What a terminal shows after `written`: text, newlines, carriage returns, cursor up (ESC[nA),
    clear to the end of the screen (ESC[J), and nothing else (any other escape fails the test)."""
    lines, row, col = [""], 0, 0
    for up, clear, other, char, text in re.findall(r"\033\[(\d+)A|(\033\[J)|(\033)|([\r\n])|([^\033\r\n]+)", written):
        assert not other, f"an escape code the test does not know: {written!r}"
        if up:
            row = max(0, row - int(up))
        elif clear:
            lines[row] = lines[row][:col]
            del lines[row + 1:]
        elif char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
            lines.extend([""] * (row + 1 - len(lines)))
        else:
            lines[row] = lines[row][:col] + text + lines[row][col + len(text):]
            col += len(text)
    return [line for line in lines if line]


def run_fake(tmp_path: Path, lines: list[str], tty: bool) -> None:
    script = "import sys\nfor line in sys.argv[1:]: print(line)"
    outcome = follow([sys.executable, "-c", script, *lines], {}, tmp_path / "run.log", tty=tty)
    assert outcome.returncode == 0 and outcome.run_id == RUN_ID


def test_bars_are_plain_characters_clamped_to_whole():
    assert bar(0.58) == "[############--------]  58%"
    assert bar(0) == "[--------------------]   0%" and bar(1.7) == "[####################] 100%"
    assert bar(0.5, width=4) == "[##--]  50%"


def test_a_row_draws_a_bar_only_from_a_percentage_in_the_line_itself():
    assert progress_row("progress: users export job processing 45%") == (
        "users", "  users         [#########-----------]  45% export job processing 45%")
    assert progress_row("progress: roles 5 roles, 135 members, 5 pages, 24.3 pages/s") == (
        "roles", "  roles         5 roles, 135 members, 5 pages, 24.3 pages/s")
    assert progress_row("Users extraction: full") is None


def test_not_a_terminal_progress_is_plain_lines(tmp_path, capsys):
    run_fake(tmp_path, FAKE_RUN, tty=False)
    out = capsys.readouterr().out
    assert "\033" not in out and "\r" not in out
    assert out.splitlines() == [
        "  staged_extraction: Users extraction: full (first sync)",
        "  staged_extraction: progress: login_events 200 events, 2 pages, 9.3 pages/s, backlog 86 d 6 h (5% read), ETA ~4 s",
        "  staged_extraction: progress: users export job processing 45%",
        "  staged_extraction: Users export job_1: processing, 48% done",
        "  staged_extraction: progress: requests 13 to the Management API (logs 3, other 10), 55.7/s",
        "  staged_extraction: progress: login_events 800 events, 8 pages, 17.5 pages/s, backlog 72 d 22 h (58% read), ETA ~2 s",
        "  staged_extraction: progress: users done: 300 records in 1 s",
        "  staged_extraction: progress: login_events done: 1,351 events, 14 pages in 1 s",
        "  done: staged_extraction (1.5s)",
        "  warehouse_tables: Loaded the warehouse",
    ]


def test_on_a_terminal_progress_is_bars_redrawn_below_the_other_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the terminal's width, as shutil.get_terminal_size reads it
    run_fake(tmp_path, FAKE_RUN[:6], tty=True)  # mid-extraction: the rows stay at the bottom, one per stream
    assert screen(capsys.readouterr().out) == [
        "  staged_extraction: Users extraction: full (first sync)",
        "  staged_extraction: Users export job_1: processing, 48% done",
        "  login_events  [############--------]  58% 800 events, 8 pages, 17.5 pages/s, backlog 72 d 22 h (58% read), ETA ~2 s",
        "  users         [#########-----------]  45% export job processing 45%",
        "  requests      13 to the Management API (logs 3, other 10), 55.7/s",
    ]
    run_fake(tmp_path, FAKE_RUN, tty=True)  # a stream's end is a line; the step's end clears the rows
    assert screen(capsys.readouterr().out) == [
        "  staged_extraction: Users extraction: full (first sync)",
        "  staged_extraction: Users export job_1: processing, 48% done",
        "  users done: 300 records in 1 s",
        "  login_events done: 1,351 events, 14 pages in 1 s",
        "  done: staged_extraction (1.5s)",
        "  warehouse_tables: Loaded the warehouse",
    ]


def test_rows_are_cut_to_the_terminals_width_so_none_wraps():
    out = io.StringIO()
    block = ProgressBlock(out, width=39)  # rows of 38 characters, the last column left free
    block.update("progress: login_events 800 events, 8 pages, 17.5 pages/s, backlog 72 d 22 h (58% read), ETA ~2 s")
    block.update("progress: users export job processing 45%")
    block.print("a line")
    assert screen(out.getvalue()) == [
        "a line", "  login_events  [############--------]", "  users         [#########-----------]"]
