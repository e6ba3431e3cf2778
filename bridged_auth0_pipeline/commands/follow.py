"""Follow a sync's Dagster log: the whole log to a file, to the console only what a person follows.

Dagster prints ~80 DEBUG lines per run plus framework warnings. The console gets the pipeline's
own INFO lines (what each stream does; `progress:` lines, drawn as bars on a terminal), a line
per finished or failed step, and at the end the run id, the checks passed and failed, and — for a
failed run — its cause and fix as the last lines. Everything stays in the log file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Protocol, TextIO

from bridged_auth0_pipeline.commands import process_groups

# "<time> - dagster - <LEVEL> - <job> - <run id> - <pid?> - <step?> - <EVENT?> - <message>"
_LINE = re.compile(r"^\S+ \S+ \S+ - dagster - (?P<level>[A-Z]+) - (?P<job>[^ ]+) - (?P<run_id>[0-9a-f-]{36}) - (?P<rest>.*)$")
_EVENT = re.compile(r"^(?:\d+ - )?(?:(?P<step>[\w.]+) - )?(?P<event>[A-Z_]{4,}) - (?P<message>.*)$")
_CHECK = re.compile(r"Asset check '(?P<check>[^']+)' on '(?P<asset>[^']+)' (?P<outcome>passed|failed)")
_STEP_TIME = re.compile(r'step "(?P<step>[^"]+)" in (?P<time>[\d.]+m?s)')
# "progress: <stream> <what>"; a fraction, when the pipeline knows one, is its first "NN%" token.
_PROGRESS = re.compile(r"^progress: (?P<stream>\S+) (?P<what>.*)$")
_PERCENT = re.compile(r"(?<![\d.])(?P<percent>\d{1,3})%")
# The run process's last line (run_tenant.py): its peak memory, which sizes a worker or a Kubernetes Job.
PEAK_MEMORY = "peak memory of the run's process: {mb} MB"
_PEAK_MEMORY = re.compile(re.escape(PEAK_MEMORY).replace(re.escape("{mb}"), r"(?P<mb>\d+)"))
BAR_WIDTH = 20


@dataclass
class Outcome:
    returncode: int
    run_id: str | None = None
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    failure: str | None = None  # the first step failure's message, when the instance cannot say more
    peak_memory_mb: int | None = None  # None when the process died before it could say
    interrupted: bool = False  # by Ctrl-C, passed on to the run


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """`[###########---------]  58%`: plain characters, so any terminal and font draws it."""
    fraction = max(0.0, min(fraction, 1.0))
    filled = round(fraction * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%}"


def progress_row(message: str) -> tuple[str, str] | None:
    """(stream, row) for a `progress:` message: the stream, a bar when the line has a percentage, the rest."""
    match = _PROGRESS.match(message)
    if match is None:
        return None
    percent = _PERCENT.search(match["what"])
    drawn = f"{bar(int(percent['percent']) / 100)} " if percent else ""
    return match["stream"], f"  {match['stream']:<13} {drawn}{match['what']}"


class ProgressBlock:
    """The `progress:` lines as rows at the bottom of a terminal, one per stream, redrawn in place:
    cursor up over the last drawing, clear to the end of the screen, draw again. Any other line is
    printed above the rows. Rows are cut to the terminal's width (a wrapped row would throw the
    cursor-up count off); a stream's `done:`/`failed:` line replaces its row as a printed line."""

    def __init__(self, out: TextIO, prefix: str = "", width: int | None = None):
        self.out, self.prefix, self.width = out, prefix, width
        self.rows: dict[str, str] = {}
        self.drawn = 0

    def update(self, message: str) -> bool:
        """Take a `progress:` message (False for any other)."""
        row = progress_row(message)
        if row is None:
            return False
        stream, text = row
        if _PROGRESS.match(message)["what"].startswith(("done:", "failed:")):
            self.rows.pop(stream, None)
            self.print(f"  {message.removeprefix('progress: ')}")
        else:
            self.rows[stream] = text
            self._erase()
            self._draw()
        return True

    def print(self, text: str) -> None:
        self._erase()
        self.out.write(f"{self.prefix}{text}\n")
        self._draw()

    def clear(self) -> None:
        self._erase()
        self.rows.clear()
        self.out.flush()

    def _erase(self) -> None:
        if self.drawn:
            self.out.write(f"\033[{self.drawn}A\r\033[J")
            self.drawn = 0

    def _draw(self) -> None:
        width = (self.width or shutil.get_terminal_size((100, 24)).columns) - 1
        for text in self.rows.values():
            self.out.write(f"{self.prefix}{text}"[:width] + "\n")
        self.drawn = len(self.rows)
        self.out.flush()


def log_path(name: str) -> Path:
    folder = Path(os.environ.get("DAGSTER_HOME") or "data") / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.log"


class Started(Protocol):
    """A started run: its process id, output lines and exit status, as subprocess.Popen has them."""

    pid: int
    stdout: IO[str]

    def wait(self) -> int: ...


def follow(command: list[str], env: dict[str, str], log: Path, prefix: str = "", *, tty: bool | None = None) -> Outcome:
    """Run `command`, its output to `log`, the lines a person follows to stdout; `tty`: draw progress
    as bars (default: whether stdout is a terminal)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               **process_groups.popen_options())
    return follow_output(process, log, prefix, tty=tty)


def follow_output(process: Started, log: Path, prefix: str = "", *, tty: bool | None = None, quiet: bool = False) -> Outcome:
    """`process`'s output to `log` and its outcome; the lines a person follows to stdout unless `quiet`.
    Ctrl-C interrupts the run, and its output is followed to its end, which says so."""
    outcome = Outcome(returncode=0)
    block = ProgressBlock(sys.stdout, prefix) if not quiet and (sys.stdout.isatty() if tty is None else tty) else None

    def say(text: str) -> None:
        if quiet:
            return
        if block:
            block.print(text)
        else:
            sys.stdout.write(f"{prefix}{text}\n")
            sys.stdout.flush()

    def take(line: str) -> None:
        match = _LINE.match(line.rstrip("\n"))
        if not match:
            if peak := _PEAK_MEMORY.fullmatch(line.rstrip("\n")):
                outcome.peak_memory_mb = int(peak["mb"])
            return
        outcome.run_id = outcome.run_id or match["run_id"]
        event = _EVENT.match(match["rest"])
        if event is None or not event["event"].isupper() or " " in event["event"]:
            step, _, message = match["rest"].partition(" - ")
            if match["level"] in ("INFO", "WARNING", "ERROR", "CRITICAL"):
                level = "" if match["level"] == "INFO" else f"{match['level'].lower()}: "
                if not (block and block.update(message)):
                    say(f"  {step}: {level}{message}")
            return
        kind, message = event["event"], event["message"]
        if block and kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            block.clear()  # the progress was the step's
        if kind == "STEP_SUCCESS" and (timed := _STEP_TIME.search(message)):
            say(f"  done: {timed['step']} ({timed['time']})")
        elif kind == "STEP_FAILURE":
            say(f"  FAILED: {event['step'] or 'a step'}")
            outcome.failure = outcome.failure or message.strip()
        elif kind == "RUN_FAILURE":  # a run that failed outside any step (interrupted, say)
            outcome.failure = outcome.failure or message.strip()
        elif kind == "ASSET_CHECK_EVALUATION" and (check := _CHECK.search(message)):
            name = f"{check['asset']}:{check['check']}"
            (outcome.checks_passed if check["outcome"] == "passed" else outcome.checks_failed).append(name)

    process_groups.end_leftovers_when_done(process.pid, process.wait)  # else a leftover could hold the pipe
    with log.open("w") as out, process.stdout:
        def read_to_end() -> None:
            for line in process.stdout:
                out.write(line)
                take(line)

        try:
            read_to_end()
        except KeyboardInterrupt:
            process_groups.interrupt_runs()
            read_to_end()
        outcome.returncode = process.wait()
    outcome.interrupted = process.pid in process_groups.interrupted
    return outcome
