"""Follow a sync's Dagster log: the whole log to a file, to the console only what a person follows.

Dagster prints ~80 DEBUG lines per run plus framework warnings. The console gets the pipeline's
own INFO lines (what each stream does; `progress:` lines, redrawn in place on a terminal), a line
per finished or failed step, and at the end the run id, the checks passed and failed, and — for a
failed run — its cause and fix as the last lines. Everything stays in the log file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

# "<time> - dagster - <LEVEL> - <job> - <run id> - <pid?> - <step?> - <EVENT?> - <message>"
_LINE = re.compile(r"^\S+ \S+ \S+ - dagster - (?P<level>[A-Z]+) - (?P<job>[^ ]+) - (?P<run_id>[0-9a-f-]{36}) - (?P<rest>.*)$")
_EVENT = re.compile(r"^(?:\d+ - )?(?:(?P<step>[\w.]+) - )?(?P<event>[A-Z_]{4,}) - (?P<message>.*)$")
_CHECK = re.compile(r"Asset check '(?P<check>[^']+)' on '(?P<asset>[^']+)' (?P<outcome>passed|failed)")
_STEP_TIME = re.compile(r'step "(?P<step>[^"]+)" in (?P<time>[\d.]+m?s)')


@dataclass
class Outcome:
    returncode: int
    run_id: str | None = None
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    failure: str | None = None  # the first step failure's message, when the instance cannot say more


def log_path(name: str) -> Path:
    folder = Path(os.environ.get("DAGSTER_HOME") or "data") / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.log"


def follow(command: list[str], env: dict[str, str], log: Path, prefix: str = "") -> Outcome:
    outcome = Outcome(returncode=0)
    tty = sys.stdout.isatty()
    progress_shown = False

    def say(text: str, *, redraw: bool = False) -> None:
        nonlocal progress_shown
        if progress_shown:
            sys.stdout.write("\r\033[K" if tty else "")
        sys.stdout.write(f"{prefix}{text}" + ("" if redraw and tty else "\n"))
        sys.stdout.flush()
        progress_shown = redraw and tty

    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in process.stdout:
            out.write(line)
            match = _LINE.match(line.rstrip("\n"))
            if not match:
                continue
            outcome.run_id = outcome.run_id or match["run_id"]
            event = _EVENT.match(match["rest"])
            if event is None or not event["event"].isupper() or " " in event["event"]:
                step, _, message = match["rest"].partition(" - ")
                if match["level"] in ("INFO", "WARNING", "ERROR", "CRITICAL"):
                    level = "" if match["level"] == "INFO" else f"{match['level'].lower()}: "
                    say(f"  {step}: {level}{message}", redraw=message.startswith("progress:"))
                continue
            kind, message = event["event"], event["message"]
            if kind == "STEP_SUCCESS" and (timed := _STEP_TIME.search(message)):
                say(f"  done: {timed['step']} ({timed['time']})")
            elif kind == "STEP_FAILURE":
                say(f"  FAILED: {event['step'] or 'a step'}")
                outcome.failure = outcome.failure or message.strip()
            elif kind == "ASSET_CHECK_EVALUATION" and (check := _CHECK.search(message)):
                name = f"{check['asset']}:{check['check']}"
                (outcome.checks_passed if check["outcome"] == "passed" else outcome.checks_failed).append(name)
        outcome.returncode = process.wait()
    if progress_shown:
        sys.stdout.write("\n")
    return outcome
