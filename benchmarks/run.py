#!/usr/bin/env python
"""Benchmark the real auth0_sync job against the local Auth0 sandbox at a configured rate limit.

    make bench                                        # 10k and 100k users, 50 requests/s
    make bench BENCH_ARGS="--users 1000000"           # 1M users: several GB for the sandbox, ~10+ min
    .venv/bin/python benchmarks/run.py --users 10000 --rate 50 --logs-per-user 2

For each tenant size: a full run on a fresh warehouse, then a no-change (incremental) run, each
through the real CLI path (`dagster job execute -m bridged_auth0_pipeline.definitions -j auth0_sync`)
in a separate process, so its wall time and peak memory are the pipeline's alone. The sandbox runs
in this process (at 1M users it needs GBs: that memory is Auth0's, not the pipeline's). Then the
load floor: DuckDB's own read_json of the same users as NDJSON. Prints figures, not pass/fail;
benchmarks/README.md says how every figure is counted.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python benchmarks/run.py` without an installed package
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from bridged_auth0_pipeline.auth0.records import user_fields  # noqa: E402
from bridged_auth0_pipeline.sandbox import Faults, RateLimit, SandboxServer, SandboxTenant  # noqa: E402
from bridged_auth0_pipeline.sandbox.ratelimit import GLOBAL, PLANS  # noqa: E402

DAGSTER = str(Path(sys.executable).with_name("dagster"))
JOB_COMMAND = [DAGSTER, "job", "execute", "-m", "bridged_auth0_pipeline.definitions", "-j", "auth0_sync"]

# The job's steps (op names) by role. Anything else is a view or an asset check.
# Every load of a run is one step and one transaction (readers see whole runs).
LOAD_STEPS = ("warehouse_tables",)
WAREHOUSE_TABLES = ("users", "user_identities", "user_metadata", "roles", "user_roles", "login_events")
ENDPOINT_GROUPS = ("users", "jobs", "logs", "roles")
# The sandbox's rate-limit group of each endpoint group counted here.
SANDBOX_GROUP = {"users": "users", "jobs": "other", "logs": "logs", "roles": "other"}
# Logs and role members are read 100 a request whatever BRIDGED_PAGE_SIZE (Auth0's maximum `take`).
CHECKPOINT_TAKE = 100


# --------------------------------------------------------------------------------------------
# Measuring a child process: wall time and peak RSS of its whole process tree
# --------------------------------------------------------------------------------------------

def _proc_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    name, value = line.split(":", 1)
                    values[name] = int(value.split()[0])  # kB
    except (OSError, ValueError):
        pass
    return values


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, ()))
    return found


class TreeMonitor(threading.Thread):
    """Polls VmHWM (per-process peak) and VmRSS (summed) of `root`'s descendants every `interval` seconds."""

    def __init__(self, root: int, interval: float = 0.1, kill_above_kb: int | None = None):
        super().__init__(daemon=True)
        self.root, self.interval, self.kill_above_kb = root, interval, kill_above_kb
        self.killed = False
        self.hwm_kb: dict[int, int] = {}
        self.peak_tree_rss_kb = 0
        self.samples: list[tuple[float, int]] = []  # (epoch seconds, tree RSS kB)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total = 0
            for pid in _descendants(self.root)[1:]:  # not the launcher: it starts as a copy of this process
                status = _proc_status(pid)
                total += status.get("VmRSS", 0)
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), status.get("VmHWM", 0))
            self.peak_tree_rss_kb = max(self.peak_tree_rss_kb, total)
            self.samples.append((time.time(), total))
            if self.kill_above_kb and total > self.kill_above_kb and not self.killed:
                self.killed = True  # protect the machine: the pipeline would go on growing
                try:
                    os.killpg(self.root, 9)
                except OSError:
                    pass
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


@dataclass
class ProcessResult:
    returncode: int
    wall_seconds: float
    peak_rss_mb: float        # the largest process under the launcher (its ru_maxrss, or polled VmHWM)
    peak_tree_rss_mb: float   # polled sum of VmRSS over those processes
    samples: list[tuple[float, int]] = field(default_factory=list, repr=False)
    killed_for_memory: bool = False


# The measured command runs under this small launcher. A child forked from this (large: it holds the
# sandbox) process inherits our RSS until it execs, and Linux keeps that in its ru_maxrss; the
# launcher's own children are forked from a fresh interpreter, so their ru_maxrss is theirs alone.
LAUNCHER = r"""
import resource, subprocess, sys
report, command = sys.argv[1], sys.argv[2:]
code = subprocess.call(command)
with open(report, "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def run_measured(
    command: list[str], *, env: dict[str, str], cwd: Path, log_path: Path, max_rss_mb: float | None = None
) -> ProcessResult:
    report = log_path.with_suffix(".maxrss")
    report.unlink(missing_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(report), *command], env=env, cwd=cwd,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        monitor = TreeMonitor(process.pid, kill_above_kb=int(max_rss_mb * 1024) if max_rss_mb else None)
        monitor.start()
        try:
            process.wait()
        except BaseException:
            os.killpg(process.pid, 9)
            raise
        wall = time.perf_counter() - started
        monitor.stop()
    reported = int(report.read_text()) if report.exists() else 0  # kB; absent when killed
    peak_kb = max([reported, *monitor.hwm_kb.values()])
    return ProcessResult(process.returncode, wall, peak_kb / 1024, max(monitor.peak_tree_rss_kb, peak_kb) / 1024,
                         monitor.samples, monitor.killed)


# --------------------------------------------------------------------------------------------
# What the sandbox saw, what was the minimum, what Dagster recorded, what landed in DuckDB
# --------------------------------------------------------------------------------------------

def endpoint_group(path: str) -> str:
    rest = path[len("/api/v2/"):] if path.startswith("/api/v2/") else path
    head = rest.split("/", 1)[0]
    if head.startswith("users"):  # users, users-by-email, users/{id}/...
        return "users"
    return head if head in ENDPOINT_GROUPS else "other"


def request_counts(records) -> dict[str, int]:
    counts = {group: 0 for group in ENDPOINT_GROUPS}
    counts.update(other=0, total=0, http_429=0, token=0, download=0)
    for record in records:
        if record.api == "management":
            counts[endpoint_group(record.path)] += 1
            counts["total"] += 1
            counts["http_429"] += record.status == 429
        elif record.api == "auth":
            counts["token"] += 1
        elif record.api == "download":
            counts["download"] += 1
    return counts


def achieved_rates(records) -> dict[str, float]:
    """Requests per second each endpoint group actually ran at while it was being read (first to last)."""
    times: dict[str, list[float]] = {}
    for record in records:
        if record.api == "management":
            times.setdefault(endpoint_group(record.path), []).append(record.at)
    return {g: round((len(t) - 1) / (max(t) - min(t)), 1) for g, t in times.items() if len(t) > 1 and max(t) > min(t)}


def pages(records: int, page_size: int) -> int:
    """Requests to read `records` with a short last page marking the end (an empty page if need be)."""
    return records // page_size + 1


def minimum_requests(tenant: SandboxTenant, page_size: int) -> dict[str, Any]:
    """The fewest Management API requests that can read this tenant (see README: how we count)."""
    with tenant.lock:
        events = len(tenant.logs)
        members = [len(m) for m in tenant.role_members.values()]
        roles = len(tenant.roles)
    role_pages = math.ceil(roles / page_size) if roles else 1
    member_pages = sum(max(1, math.ceil(m / CHECKPOINT_TAKE)) for m in members)
    full = {"users": 0, "jobs": 2, "logs": pages(events, CHECKPOINT_TAKE), "roles": role_pages + member_pages}
    full["total"] = sum(full.values())
    # No change: one users search page, one logs checkpoint page, one roles page. Re-listing every
    # role's members (what the current design does) costs `member_pages` more.
    no_change = {"users": 1, "jobs": 0, "logs": 1, "roles": 1, "total": 3}
    return {
        "full": full,
        "no_change": no_change,
        "no_change_relisting_roles": 2 + role_pages + member_pages,
        "log_events": events,
        "role_members": sum(members),
        "roles": roles,
    }


@dataclass(frozen=True)
class Limits:
    """The sandbox's buckets for a benchmark: name → (limit, the endpoint groups that draw from it)."""

    label: str
    buckets: dict[str, tuple[RateLimit, tuple[str, ...]]]

    @classmethod
    def from_args(cls, args) -> "Limits":
        if args.plan:
            config = PLANS[args.plan]
            label = f"{args.plan} plan"
        else:
            one = RateLimit(burst=args.burst, per_second=args.rate)
            config = {GLOBAL: one} if args.global_bucket else {g: one for g in ("users", "logs", "other")}
            label = (f"{args.rate:g} requests/s (burst {args.burst}) "
                     + ("in one bucket for the tenant" if args.global_bucket else "per endpoint group"))
        if GLOBAL in config:
            return cls(label, {GLOBAL: (config[GLOBAL], ENDPOINT_GROUPS)})
        groups = {}
        for group, sandbox_group in SANDBOX_GROUP.items():
            groups.setdefault(sandbox_group, []).append(group)
        return cls(label, {name: (config[name], tuple(members)) for name, members in groups.items()})

    def sandbox_config(self) -> dict[str, RateLimit]:
        return {name: limit for name, (limit, _) in self.buckets.items()}

    def floor_seconds(self, minimum: dict[str, int]) -> tuple[float, str]:
        """The slowest bucket's floor: (its minimum requests - its burst) / its rate, and its name."""
        floors = {name: max(0.0, sum(minimum.get(g, 0) for g in groups) - limit.burst) / limit.per_second
                  for name, (limit, groups) in self.buckets.items()}
        slowest = max(floors, key=floors.get)
        return floors[slowest], slowest

    def refill_seconds(self) -> float:
        """How long the emptiest bucket takes to fill: waited before each run."""
        return max(limit.burst / limit.per_second for limit, _ in self.buckets.values())


def dagster_run_stats(dagster_home: Path, ended_at: float) -> dict[str, Any]:
    """Per-step durations of the latest run, from the instance's event log. A step (or run) that never
    finished (the process was killed) counts until `ended_at`, with status "unfinished"."""
    import dagster as dg

    # DAGSTER_HOME, as the pipeline's processes had it: ./dagster.yaml's event log finds its files there.
    with mock.patch.dict(os.environ, DAGSTER_HOME=str(dagster_home)), dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return {}
        run = runs[0]
        stats = instance.get_run_stats(run.run_id)
        steps = {}
        for s in instance.get_run_step_stats(run.run_id):
            if s.start_time is None:
                continue
            end = s.end_time or ended_at
            status = s.status.value if s.end_time and s.status else "unfinished"
            steps[s.step_key] = {"seconds": end - s.start_time, "start": s.start_time, "end": end, "status": status}
        return {
            "run_id": run.run_id,
            "status": run.status.value,
            "run_seconds": ((stats.end_time or ended_at) - stats.start_time) if stats.start_time else None,
            "steps": steps,
        }


def warehouse_rows(path: Path, since: datetime) -> dict[str, dict[str, int]]:
    """Per auth0.* table: rows in total and rows written by the run (synced_at >= its start)."""
    import duckdb

    rows: dict[str, dict[str, int]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in WAREHOUSE_TABLES:
            total, landed = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE synced_at >= ?) FROM auth0.{table}", [since]
            ).fetchone()
            rows[table] = {"total": total, "landed": landed}
        rows["_rejected"] = {"total": con.execute("SELECT count(*) FROM auth0._rejected").fetchone()[0], "landed": 0}
    return rows


def stream_seconds(path: Path, steps: dict[str, dict]) -> dict[str, float]:
    """Per extraction stream: from the start of the step that ran it to the commit of its staging
    (auth0_staging.extractions.extracted_at) — separable even when the streams share one step."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        committed = con.execute("SELECT stream, epoch(extracted_at) FROM auth0_staging.extractions").fetchall()
    seconds = {}
    for stream, at in committed:
        owners = [s for s in steps.values() if s["start"] <= at <= s["end"] + 1]
        if owners:
            seconds[stream] = round(at - max(s["start"] for s in owners), 2)
    return seconds


def users_read_json_seconds(path: Path) -> float | None:
    """How long DuckDB's read_json took to stage the last users extraction (the first half of the
    users load; the warehouse_tables step, which holds every load, is the second)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT details->>'read_json_seconds' FROM auth0_staging.extractions WHERE stream = 'users'").fetchone()
    return float(row[0]) if row and row[0] is not None else None


def step_seconds(steps: dict[str, dict], names) -> float:
    return sum(steps[name]["seconds"] for name in names if name in steps)


# --------------------------------------------------------------------------------------------
# One scenario: full run, no-change run, load floor
# --------------------------------------------------------------------------------------------

@dataclass
class RunFigures:
    scenario: str
    run: str  # "full" | "no-change"
    ok: bool
    requests: dict[str, int]
    minimum: int
    minimum_detail: dict[str, int]
    wall_seconds: float
    run_seconds: float | None
    floor_seconds: float
    floor_bucket: str
    rows_landed: int
    load_seconds: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    steps: dict[str, dict] = field(default_factory=dict)
    streams: dict[str, float] = field(default_factory=dict)  # extraction stream → seconds to its commit
    users_read_json_seconds: float | None = None  # staging the users with DuckDB's read_json
    rates: dict[str, float] = field(default_factory=dict)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    warehouse_mb: float = 0.0
    killed_for_memory: bool = False
    log: str = ""

    @property
    def request_ratio(self) -> float:
        return self.requests["total"] / self.minimum if self.minimum else float("nan")

    @property
    def wall_ratio(self) -> float:
        return self.wall_seconds / self.floor_seconds if self.floor_seconds else float("nan")

    @property
    def rows_per_second(self) -> float:
        return self.rows_landed / self.load_seconds if self.load_seconds else 0.0


@dataclass
class FloorFigures:
    scenario: str
    users: int
    ndjson_mb: float
    read_json_seconds: float
    read_json_gz_seconds: float | None
    read_json_peak_mb: float
    read_json_limited_seconds: float | None
    read_json_limited_peak_mb: float | None
    sandbox_export_seconds: float
    users_load_seconds: float = 0.0  # staging read_json + the warehouse_tables step (every load)
    users_path_seconds: float | None = None  # None: users extraction shares a step with other streams
    alone_read_json_seconds: float | None = None  # the same two parts of the pipeline's code, run alone
    alone_merge_seconds: float | None = None

    @property
    def load_ratio(self) -> float:
        return self.users_load_seconds / self.read_json_seconds if self.read_json_seconds else float("nan")

    @property
    def limited_load_ratio(self) -> float:
        """Against read_json under the pipeline's own DuckDB memory limit."""
        return self.users_load_seconds / self.read_json_limited_seconds if self.read_json_limited_seconds else float("nan")

    @property
    def alone_seconds(self) -> float | None:
        if self.alone_read_json_seconds is None or self.alone_merge_seconds is None:
            return None
        return self.alone_read_json_seconds + self.alone_merge_seconds

    @property
    def alone_ratio(self) -> float:
        return self.alone_seconds / self.read_json_seconds if self.alone_seconds and self.read_json_seconds else float("nan")

    @property
    def path_ratio(self) -> float:
        if self.users_path_seconds is None or not self.read_json_seconds:
            return float("nan")
        return self.users_path_seconds / self.read_json_seconds


def child_env(
    server: SandboxServer, secret: str, dagster_home: Path, warehouse: Path, page_size: int, repo: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_", "DAGSTER_"))}
    env.update(
        AUTH0_DOMAIN=server.base_url,
        AUTH0_CLIENT_ID=server.client_id,
        AUTH0_CLIENT_SECRET=secret,
        BRIDGED_DUCKDB_PATH=str(warehouse),
        BRIDGED_CONNECTIONS_PATH=str(warehouse.parent / "connections.db"),  # no developer's tenants
        BRIDGED_PAGE_SIZE=str(page_size),
        DAGSTER_HOME=str(dagster_home),
        # The pipeline under test comes first (--repo benchmarks another checkout with this harness).
        PYTHONPATH=os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    return env


def run_once(
    label: str, run: str, server: SandboxServer, env: dict[str, str], workdir: Path, minimum: dict[str, int],
    limits: Limits, profile: Path | None, max_rss_mb: float | None,
) -> RunFigures:
    dagster_home, warehouse = Path(env["DAGSTER_HOME"]), Path(env["BRIDGED_DUCKDB_PATH"])
    log_path = workdir / f"{run}.log"
    command = JOB_COMMAND
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        command = [py_spy, "record", "--rate", "50", "--subprocesses", "--format", "flamegraph",
                   "-o", str(profile / f"{label}-{run}.svg"), "--", *JOB_COMMAND]
    first = len(server.requests)
    started_at = datetime.now(timezone.utc)
    print(f"  {run:<9} running `dagster job execute ... -j auth0_sync` (log: {log_path})", flush=True)
    result = run_measured(command, env=env, cwd=workdir, log_path=log_path, max_rss_mb=max_rss_mb)
    with server._records_lock:
        records = server.requests[first:]
    counts = request_counts(records)
    stats = dagster_run_stats(dagster_home, time.time())
    steps = stats.get("steps", {})
    for step in steps.values():  # the process's RSS while the step ran (polled, so short steps may show 0)
        during = [kb for t, kb in result.samples if step["start"] <= t <= step["end"]]
        before = [kb for t, kb in result.samples if t <= step["start"]]
        step["peak_rss_mb"] = round(max(during, default=0) / 1024)
        step["rss_growth_mb"] = round((max(during, default=0) - (before[-1] if before else 0)) / 1024)
    ok = result.returncode == 0 and stats.get("status") == "SUCCESS"
    rows = warehouse_rows(warehouse, started_at) if warehouse.exists() else {}
    streams = stream_seconds(warehouse, steps) if warehouse.exists() and steps else {}
    read_json_seconds = users_read_json_seconds(warehouse) if warehouse.exists() else None
    landed = sum(v["landed"] for k, v in rows.items() if not k.startswith("_"))
    floor_seconds, floor_bucket = limits.floor_seconds(minimum)
    figures = RunFigures(
        scenario=label, run=run, ok=ok, requests=counts, minimum=minimum["total"], minimum_detail=minimum,
        wall_seconds=result.wall_seconds, run_seconds=stats.get("run_seconds"), floor_seconds=floor_seconds, floor_bucket=floor_bucket,
        rows_landed=landed, load_seconds=step_seconds(steps, LOAD_STEPS), peak_rss_mb=result.peak_rss_mb,
        peak_tree_rss_mb=result.peak_tree_rss_mb, steps=steps, streams=streams, rows=rows, rates=achieved_rates(records),
        warehouse_mb=(warehouse.stat().st_size / 2**20) if warehouse.exists() else 0.0, log=str(log_path),
        killed_for_memory=result.killed_for_memory, users_read_json_seconds=read_json_seconds,
    )
    print_run(figures)
    if result.killed_for_memory:
        print(f"  !! killed: the pipeline's RSS passed --max-rss-mb {max_rss_mb:g}")
    if not ok:
        print(f"  !! run failed (exit {result.returncode}, status {stats.get('status')}); last lines of {log_path}:")
        for line in log_path.read_text(errors="replace").splitlines()[-25:]:
            print(f"     {line}")
    return figures


def print_run(f: RunFigures) -> None:
    r = f.requests
    split = " ".join(f"{g}={r[g]}" for g in (*ENDPOINT_GROUPS, "other") if r[g] or g in ENDPOINT_GROUPS)
    mins = " ".join(f"{g}={f.minimum_detail[g]}" for g in ENDPOINT_GROUPS)
    print(f"    requests   {r['total']:>7,}  ({split}; 429s={r['http_429']}, token={r['token']}, downloads={r['download']})")
    print(f"    minimum    {f.minimum:>7,}  ({mins})   ratio {f.request_ratio:.3f}")
    if f.rates:
        print("    pace       " + ", ".join(f"{g} {r:g}/s" for g, r in f.rates.items()) + " (first to last request of each group)")
    run_part = f", Dagster run {f.run_seconds:.1f} s" if f.run_seconds is not None else ""
    print(f"    wall       {f.wall_seconds:>7.1f} s (process{run_part}); floor {f.floor_seconds:.1f} s "
          f"(the {f.floor_bucket} bucket); ratio {f.wall_ratio:.2f}")
    print(f"    rows       {f.rows_landed:>7,} landed in {f.load_seconds:.1f} s of load steps = {f.rows_per_second:,.0f} rows/s; "
          f"warehouse {f.warehouse_mb:,.0f} MB")
    print(f"    peak RSS   {f.peak_rss_mb:>7,.0f} MB (tree {f.peak_tree_rss_mb:,.0f} MB)")
    ordered = sorted(f.steps.items(), key=lambda kv: -kv[1]["seconds"])
    print("    steps      " + ", ".join(f"{k} {v['seconds']:.1f}s" + (" (unfinished)" if v["status"] == "unfinished" else "")
                                       for k, v in ordered[:8])
          + (f", +{len(ordered) - 8} more {sum(v['seconds'] for _, v in ordered[8:]):.1f}s" if len(ordered) > 8 else ""))
    if f.streams:
        print("    streams    " + ", ".join(f"{k} {v:.1f}s" for k, v in f.streams.items()) + " (step start → staging committed)")
    by_memory = sorted(f.steps.items(), key=lambda kv: -kv[1].get("peak_rss_mb", 0))
    print("    RSS/step   " + ", ".join(f"{k} {v.get('peak_rss_mb', 0):,} MB (+{v.get('rss_growth_mb', 0):,})" for k, v in by_memory[:5]))
    if f.rows:
        print("    tables     " + ", ".join(f"{k} {v['landed']:,}/{v['total']:,}" for k, v in f.rows.items() if v["total"] or v["landed"]))


def fetch_export_as_ndjson(server: SandboxServer, secret: str, ndjson: Path, gz: Path) -> tuple[int, float]:
    """The sandbox's own users export (same fields as the pipeline asks for) → NDJSON + .gz files.

    Returns (users, seconds the sandbox took to serve the file). Runs after the measured runs, so
    its requests are not counted against them.
    """
    with httpx.Client(base_url=server.base_url, timeout=600) as http:
        token = http.post("/oauth/token", json={
            "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": secret,
            "audience": server.audience,
        }).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        fields = [{"name": name} for name in user_fields(include_metadata=True)]
        job = http.post("/api/v2/jobs/users-exports", json={"format": "json", "fields": fields}, headers=headers).json()
        while True:
            status = http.get(f"/api/v2/jobs/{job['id']}", headers=headers)
            if status.status_code == 429:
                time.sleep(1)
                continue
            body = status.json()
            if body.get("status") == "completed":
                break
            time.sleep(0.2)
        started = time.perf_counter()
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        lines = 0
        with http.stream("GET", body["location"]) as response, ndjson.open("wb") as out, gz.open("wb") as raw:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                raw.write(chunk)
                data = inflate.decompress(chunk)
                lines += data.count(b"\n")
                out.write(data)
            out.write(inflate.flush())
        return lines, time.perf_counter() - started


READ_JSON_SCRIPT = r"""
import json, sys, time, duckdb
database, source, memory_limit = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(database)
if memory_limit:
    con.execute(f"SET memory_limit = '{memory_limit}'")
started = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited')", [source])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": con.execute("SELECT count(*) FROM t").fetchone()[0]}))
"""


def read_json_floor(workdir: Path, source: Path, memory_limit: str = "") -> tuple[float, int, float]:
    """DuckDB's own NDJSON load of `source` into a table of a fresh file database, in its own process
    (with DuckDB's default settings, or SET memory_limit when given)."""
    database = workdir / f"floor-{source.suffix.strip('.')}.duckdb"
    log = workdir / f"floor-{source.suffix.strip('.')}.log"
    result = run_measured([sys.executable, "-c", READ_JSON_SCRIPT, str(database), str(source), memory_limit],
                          env=dict(os.environ), cwd=workdir, log_path=log)
    if result.returncode != 0:
        raise RuntimeError(f"read_json floor failed: {log.read_text()[-2000:]}")
    out = json.loads(log.read_text().strip().splitlines()[-1])
    database.unlink(missing_ok=True)
    return out["seconds"], out["rows"], result.peak_rss_mb


# The pipeline's own users load (staging read_json + sql/loads/users.sql, a first full snapshot) on
# the floor's NDJSON, in a process of its own on an otherwise idle machine. In the run, the staging
# read_json shares the 2 cores with the log stream and the sandbox; this isolates the code's cost.
USERS_LOAD_ALONE_SCRIPT = r"""
import json, sys, time
from datetime import datetime, timezone
from pathlib import Path
import duckdb
from bridged_auth0_pipeline.auth0.records import line_without_idp_tokens
from bridged_auth0_pipeline.store.database import DUCKDB_MEMORY_LIMIT
from bridged_auth0_pipeline.store.loads import run_load
from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_user_lines
database, source = Path(sys.argv[1]), Path(sys.argv[2])
con = duckdb.connect(str(database))
con.execute("SET TimeZone = 'UTC'")
con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
apply_migrations(con)
with source.open("rb") as lines, extraction_transaction(con, "users", "full") as extraction:
    stage_user_lines(con, (line_without_idp_tokens(line.rstrip(b"\n")) for line in lines), extraction,
                     database.with_suffix(".spool"))
started = time.perf_counter()
run_load(con, "loads/users.sql", synced_at=datetime.now(timezone.utc),
         variables={"full_snapshot": True, "user_filter": "all", "active_days": 30, "filter_roles": []})
print(json.dumps({"read_json_seconds": extraction.details["read_json_seconds"],
                  "merge_seconds": time.perf_counter() - started}))
"""


def users_load_alone(workdir: Path, source: Path, repo: Path) -> tuple[float, float]:
    """(staging read_json s, users.sql merge s) of the pipeline's code at `repo`, run alone."""
    database = workdir / "users-load-alone.duckdb"
    log = workdir / "users-load-alone.log"
    env = {**os.environ, "PYTHONPATH": str(repo)}
    result = run_measured([sys.executable, "-c", USERS_LOAD_ALONE_SCRIPT, str(database), str(source)],
                          env=env, cwd=repo, log_path=log)
    if result.returncode != 0:
        raise RuntimeError(f"users load alone failed: {log.read_text()[-2000:]}")
    out = json.loads(log.read_text().strip().splitlines()[-1])
    for leftover in workdir.glob("users-load-alone.*"):
        if leftover.suffix != ".log":
            leftover.unlink()
    return out["read_json_seconds"], out["merge_seconds"]


def scenario(args, users: int, root: Path) -> tuple[list[RunFigures], FloorFigures | None]:
    label = f"{users // 1000}k" if users < 1_000_000 else f"{users / 1_000_000:g}M"
    workdir = root / label
    workdir.mkdir(parents=True)
    limits = Limits.from_args(args)
    print(f"\n== {label}: {users:,} users, {args.logs_per_user} logs/user, {limits.label}, "
          f"page size {args.page_size} ==", flush=True)
    started = time.perf_counter()
    # The log events fill the 30 days up to 15 minutes ago, as on a tenant in use. (A role change or
    # deletion logged in the 5 minutes before a member re-read counts as possibly unseen by it, so
    # events up to now would make the no-change run re-read every membership.)
    tenant = SandboxTenant.generate(users=users, seed=args.seed, logs_per_user=args.logs_per_user,
                                    anchor=datetime.now(timezone.utc) - timedelta(minutes=15))
    minimum = minimum_requests(tenant, args.page_size)
    print(f"  sandbox tenant generated in {time.perf_counter() - started:.1f} s: {len(tenant.users):,} users, "
          f"{minimum['log_events']:,} log events, {minimum['roles']} roles with {minimum['role_members']:,} members", flush=True)

    secret = secrets.token_urlsafe(24)
    faults = Faults(latency_seconds=args.latency) if args.latency else None
    server = SandboxServer(tenant, client_secret=secret, rate_limit=limits.sandbox_config(),
                           faults=faults, export_seconds=args.export_seconds)
    runs: list[RunFigures] = []
    floor: FloorFigures | None = None
    with server:
        dagster_home = workdir / "dagster_home"
        dagster_home.mkdir()
        shutil.copy(args.repo / "dagster.yaml", dagster_home / "dagster.yaml")
        env = child_env(server, secret, dagster_home, workdir / "warehouse.duckdb", args.page_size, args.repo)
        profile = Path(args.profile) if args.profile else None
        time.sleep(limits.refill_seconds() + 0.1)  # start every run with full buckets
        full = run_once(label, "full", server, env, workdir, minimum["full"], limits, profile, args.max_rss_mb)
        runs.append(full)
        if full.ok and "no-change" in args.runs:
            time.sleep(limits.refill_seconds() + 0.1)
            runs.append(run_once(label, "no-change", server, env, workdir, minimum["no_change"], limits, profile,
                                 args.max_rss_mb))
            runs[-1].minimum_detail = {**runs[-1].minimum_detail, "relisting_roles": minimum["no_change_relisting_roles"]}
        if not args.no_floor:
            ndjson, gz = workdir / "users.ndjson", workdir / "users.ndjson.gz"
            lines, export_seconds = fetch_export_as_ndjson(server, secret, ndjson, gz)
            server.stop()  # idle from here on; frees its threads
            del server, tenant
            gc.collect()
            seconds, rows, peak = read_json_floor(workdir, ndjson)
            gz_seconds = read_json_floor(workdir, gz)[0] if not args.no_gz_floor else None
            limited_seconds = limited_peak = None
            if args.floor_memory_limit:
                limited_seconds, _, limited_peak = read_json_floor(workdir, ndjson, args.floor_memory_limit)
            alone = users_load_alone(workdir, ndjson, args.repo)
            floor = FloorFigures(
                scenario=label, users=rows, ndjson_mb=ndjson.stat().st_size / 2**20, read_json_seconds=seconds,
                read_json_gz_seconds=gz_seconds, read_json_peak_mb=peak, read_json_limited_seconds=limited_seconds,
                read_json_limited_peak_mb=limited_peak, sandbox_export_seconds=export_seconds,
                users_load_seconds=(full.users_read_json_seconds or 0.0) + step_seconds(full.steps, list(LOAD_STEPS)),
                users_path_seconds=(full.streams["users"] + step_seconds(full.steps, list(LOAD_STEPS)))
                if "users" in full.streams else None,
                alone_read_json_seconds=alone[0], alone_merge_seconds=alone[1],
            )
            print(f"  load floor: read_json of {rows:,} users ({floor.ndjson_mb:,.0f} MB NDJSON) {seconds:.2f} s"
                  + (f", of the .gz {gz_seconds:.2f} s" if gz_seconds is not None else "")
                  + (f", with memory_limit {args.floor_memory_limit} {limited_seconds:.2f} s (peak {limited_peak:,.0f} MB)"
                     if limited_seconds is not None else "")
                  + f", peak {peak:,.0f} MB; sandbox served the export in {export_seconds:.1f} s")
            path = (f"users path (extraction + load) {floor.users_path_seconds:.1f} s = {floor.path_ratio:.2f} × read_json"
                    if floor.users_path_seconds is not None else "users path: the users staging commit time is unknown")
            limited = (f" ({floor.limited_load_ratio:.2f} × read_json @{args.floor_memory_limit}, the pipeline's limit)"
                       if floor.read_json_limited_seconds else "")
            print(f"    users load (staging read_json {full.users_read_json_seconds or 0:.1f} s + warehouse_tables, all loads "
                  f"{step_seconds(full.steps, list(LOAD_STEPS)):.1f} s) {floor.users_load_seconds:.1f} s = "
                  f"{floor.load_ratio:.2f} × read_json{limited}; {path}")
            print(f"    users load alone (staging read_json {alone[0]:.1f} s + users.sql {alone[1]:.1f} s) "
                  f"{floor.alone_seconds:.1f} s = {floor.alone_ratio:.2f} × read_json")
            ndjson.unlink()
            gz.unlink()
    return runs, floor


# --------------------------------------------------------------------------------------------
# The summary tables
# --------------------------------------------------------------------------------------------

def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def summary(args, runs: list[RunFigures], floors: list[FloorFigures]) -> str:
    out = [f"\nauth0_sync benchmark ({args.code_version}): rate limit {Limits.from_args(args).label}, "
           f"page size {args.page_size}, {args.logs_per_user} logs/user"
           + (f", latency {args.latency[0]:g}–{args.latency[1]:g} s" if args.latency else "") + "\n"]
    rows = []
    for f in runs:
        r = f.requests
        rows.append([
            f.scenario, f.run + ("" if f.ok else " (KILLED: RSS)" if f.killed_for_memory else " (FAILED)"),
            f"{r['total']:,}", "/".join(str(r[g]) for g in ENDPOINT_GROUPS), f"{f.minimum:,}", f"{f.request_ratio:.3f}",
            str(r["http_429"]), f"{f.wall_seconds:.1f}", f"{f.floor_seconds:.1f}", f"{f.wall_ratio:.2f}",
            f"{f.rows_landed:,}", f"{f.rows_per_second:,.0f}", f"{f.peak_rss_mb:,.0f}",
        ])
    out.append(table(["scenario", "run", "requests", "users/jobs/logs/roles", "minimum", "req/min", "429s",
                      "wall s", "floor s", "wall/floor", "rows landed", "rows/s", "peak RSS MB"], rows))
    if floors:
        out.append("\nLoad floor: DuckDB read_json of the same users (NDJSON) vs the pipeline\n")
        out.append(table(
            ["scenario", "users", "NDJSON MB", "read_json s", "peak MB", "users load s", "ratio", "alone s", "ratio",
             "users path s", "ratio", "read_json .gz s", f"read_json @{args.floor_memory_limit or '-'} s", "peak MB",
             "load ratio @limit"],
            [[f.scenario, f"{f.users:,}", f"{f.ndjson_mb:,.0f}", f"{f.read_json_seconds:.2f}", f"{f.read_json_peak_mb:,.0f}",
              f"{f.users_load_seconds:.1f}", f"{f.load_ratio:.2f}",
              "-" if f.alone_seconds is None else f"{f.alone_seconds:.1f}", "-" if f.alone_seconds is None else f"{f.alone_ratio:.2f}",
              "-" if f.users_path_seconds is None else f"{f.users_path_seconds:.1f}",
              "-" if f.users_path_seconds is None else f"{f.path_ratio:.2f}",
              "-" if f.read_json_gz_seconds is None else f"{f.read_json_gz_seconds:.2f}",
              "-" if f.read_json_limited_seconds is None else f"{f.read_json_limited_seconds:.2f}",
              "-" if f.read_json_limited_peak_mb is None else f"{f.read_json_limited_peak_mb:,.0f}",
              "-" if f.read_json_limited_seconds is None else f"{f.limited_load_ratio:.2f}"] for f in floors],
        ))
    return "\n".join(out)


def code_version(repo: Path) -> str:
    """The commit of the code under test, with '+changes' when the working tree differs from it."""
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "unknown") + ("+changes" if dirty else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="10000,100000", help="comma-separated tenant sizes (default 10000,100000; 1000000 needs ~6 GB for the sandbox)")
    parser.add_argument("--rate", type=float, default=50.0, help="sandbox refill rate, requests/s per endpoint group (default 50)")
    parser.add_argument("--burst", type=int, default=50, help="sandbox bucket size per endpoint group (default 50)")
    parser.add_argument("--global-bucket", action="store_true",
                        help="one bucket of --burst/--rate for the whole tenant instead of one per group")
    parser.add_argument("--plan", choices=sorted(PLANS),
                        help="the sandbox's limits of an Auth0 plan (overrides --rate/--burst)")
    parser.add_argument("--logs-per-user", type=int, default=2, help="synthetic log events per user (default 2)")
    parser.add_argument("--page-size", type=int, default=100, help="BRIDGED_PAGE_SIZE for the pipeline (default 100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", default="full,no-change", help="full,no-change (default) or full")
    parser.add_argument("--max-rss-mb", type=float, default=8000,
                        help="kill the pipeline if its process tree passes this RSS, to protect the machine (default 8000; 0 = never)")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="the pipeline checkout to run (default: this repository)")
    parser.add_argument("--latency", type=lambda s: tuple(float(x) for x in s.split(",")), default=None,
                        metavar="MIN,MAX", help="add sandbox latency per request, seconds (e.g. 0.1,0.3; default none)")
    parser.add_argument("--export-seconds", type=float, default=0.3, help="how long a sandbox export job takes (default 0.3)")
    parser.add_argument("--no-floor", action="store_true", help="skip the DuckDB read_json load floor")
    parser.add_argument("--no-gz-floor", action="store_true", help="skip read_json of the gzip file")
    parser.add_argument("--floor-memory-limit", default="256MB",
                        help="also time read_json under this DuckDB memory_limit ('' to skip; default 256MB)")
    parser.add_argument("--profile", metavar="DIR", help="record py-spy flamegraphs of the pipeline runs into DIR (needs py-spy; slows runs)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON to PATH")
    parser.add_argument("--workdir", help="where warehouses, Dagster homes and logs go (default: a temp dir, deleted unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.users.split(",") if s.strip()]
    args.runs = {r.strip() for r in args.runs.split(",")}
    args.repo = args.repo.resolve()
    if args.latency is not None and len(args.latency) != 2:
        parser.error("--latency takes MIN,MAX")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bridged-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    args.code_version = code_version(args.repo)
    print(f"work directory {root}; pipeline: {' '.join(JOB_COMMAND)} (code from {args.repo} at {args.code_version})")
    runs: list[RunFigures] = []
    floors: list[FloorFigures] = []
    try:
        for users in sorted(args.sizes):
            scenario_runs, floor = scenario(args, users, root)
            runs += scenario_runs
            floors += [floor] if floor else []
            gc.collect()
        print(summary(args, runs, floors))
        if args.json:
            Path(args.json).write_text(json.dumps({
                "args": {k: v for k, v in vars(args).items()},
                "runs": [{**asdict(f), "request_ratio": f.request_ratio, "wall_ratio": f.wall_ratio,
                          "rows_per_second": f.rows_per_second} for f in runs],
                "floors": [{**asdict(f), "load_ratio": f.load_ratio, "alone_ratio": f.alone_ratio, "path_ratio": f.path_ratio} for f in floors],
            }, indent=2, default=str))
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
        elif args.keep:
            print(f"kept {root}")
    return 0 if all(f.ok for f in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
