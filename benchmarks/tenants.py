#!/usr/bin/env python
"""Many tenants on one machine: `bridged-auth0 sync --all --parallel C` for C = 1, 2, 4, 8.

    make bench-tenants                                          # 20 tenants of 1k–20k users
    .venv/bin/python benchmarks/tenants.py --tenants 8 --max-users 5000 --concurrency 1,4

T sandboxes of mixed sizes (geometric from --min-users to --max-users: most tenants small, as
most Auth0 tenants are), each in its own process with its own rate limit (an Auth0 plan), connected
through the real `bridged-auth0 connect`. For each C, every tenant is synced in full into a fresh
warehouse folder and instance. Prints the total wall against the ideal max(largest floor, sum of
floors / C), each tenant's wall against its own rate-limit floor, the peak RSS of each run and of
all of them together, failed runs, and the CPU the runs and the sandboxes took. At the --again
concurrencies (default 4) the same full syncs run once more into fresh warehouses with the first
round's run history, which `sync --all` uses to start the longest runs first. Then the same at
--storm-concurrency with one tenant under a 429 storm: how much it slows the others. Last, the
fixed cost of one run: a no-change sync of the smallest tenant, and what importing the code
location costs alone. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent
sys.path[:0] = [str(REPO_ROOT), str(BENCHMARKS)]

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from run import Limits, TreeMonitor, minimum_requests  # noqa: E402

CLI = str(Path(sys.executable).with_name("bridged-auth0"))
_SYNCED = re.compile(r"^(?P<key>[a-z0-9-]+): (?P<outcome>synced|FAILED) in (?P<seconds>[\d.]+) s"
                     r"(?: \([^)]*, peak memory (?P<peak_mb>\d+) MB\))?")


@dataclass
class Tenant:
    key: str
    users: int
    base_url: str
    client_id: str
    secret: str
    floor_seconds: float
    process: multiprocessing.Process


def _serve(users: int, seed: int, plan: str, secret: str, pipe) -> None:
    """A sandbox in its own process (its own GIL): generate, serve, report its address and floor."""
    from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
    from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES

    tenant = SandboxTenant.demo(users=users, seed=seed)
    # read:stats: `connect` counts the tenant's active users, the size `sync --all` orders first syncs by.
    server = SandboxServer(tenant, client_secret=secret, rate_limit=plan, scopes=DEFAULT_SCOPES + ("read:stats",))
    server.start()
    floor, _ = Limits.from_args(argparse.Namespace(plan=plan)).floor_seconds(minimum_requests(tenant, 100)["full"])
    pipe.send((server.base_url, server.client_id, floor))
    while True:
        time.sleep(3600)


def start_tenants(count: int, smallest: int, largest: int, plan: str) -> list[Tenant]:
    ratio = (largest / smallest) ** (1 / max(1, count - 1))
    sizes = [round(smallest * ratio ** i, -2) for i in range(count)]
    context = multiprocessing.get_context("fork")
    started = []
    for i, users in enumerate(sizes):
        secret = secrets.token_urlsafe(16)
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(int(users), 100 + i, plan, secret, theirs), daemon=True)
        process.start()
        started.append((f"t{i:02d}-{int(users) // 1000}k", int(users), secret, ours, process))
    tenants = []
    for key, users, secret, pipe, process in started:
        base_url, client_id, floor = pipe.recv()
        tenants.append(Tenant(key, users, base_url, client_id, secret, floor, process))
    return tenants


def deployment_env(root: Path, key: str) -> dict[str, str]:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_", "DAGSTER_"))}
    return {**env, "BRIDGED_SECRET_KEY": key, "DAGSTER_HOME": str(home), "BRIDGED_CONNECTIONS_PATH": str(root / "connections.db"),
            "BRIDGED_WAREHOUSE_DIR": str(root / "tenants"), "BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS": "20"}


def connect_all(env: dict[str, str], tenants: list[Tenant]) -> None:
    for tenant in tenants:
        result = subprocess.run([CLI, "connect", tenant.key, "--domain", tenant.base_url, "--client-id", tenant.client_id],
                                input=tenant.secret, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"connect {tenant.key} failed: {result.stderr}")


@dataclass
class Round:
    label: str
    concurrency: int
    wall: float
    ideal: float
    walls: dict[str, float]
    peaks_mb: dict[str, int]  # each run's own report (a killed run has none)
    failed: list[str]
    peak_run_mb: float
    peak_total_mb: float
    pipeline_cpu: float
    sandboxes_cpu: float


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one live process, from /proc (the sandboxes are not reaped until the end)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu_seconds() -> float:
    """Busy CPU of the whole machine, from /proc/stat: the runs are forked from a server process
    that is never reaped, so their CPU does not reach this process's rusage."""
    user, nice, system, _idle, _iowait, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run_round(label: str, env: dict[str, str], tenants: list[Tenant], concurrency: int) -> Round:
    # The sandboxes stand in for Auth0, which runs elsewhere; on one machine they share the cores
    # with the runs, so each round says how much CPU each side took.
    sandboxes_before = sum(_cpu_seconds(t.process.pid) for t in tenants)
    machine_before = _machine_cpu_seconds()
    started = time.perf_counter()
    process = subprocess.Popen([CLI, "sync", "--all", "--parallel", str(concurrency)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    monitor = TreeMonitor(process.pid, interval=0.25)
    monitor.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - started
    monitor.stop()
    machine_cpu = _machine_cpu_seconds() - machine_before
    sandboxes_cpu = sum(_cpu_seconds(t.process.pid) for t in tenants) - sandboxes_before
    pipeline_cpu = machine_cpu - sandboxes_cpu  # and whatever else ran on the machine meanwhile
    walls, peaks_mb, failed = {}, {}, []
    for line in output.splitlines():
        if match := _SYNCED.match(line):
            walls[match["key"]] = float(match["seconds"])
            if match["peak_mb"]:
                peaks_mb[match["key"]] = int(match["peak_mb"])
            if match["outcome"] == "FAILED":
                failed.append(match["key"])
    floors = [tenant.floor_seconds for tenant in tenants]
    ideal = max(max(floors), sum(floors) / concurrency)
    return Round(label, concurrency, wall, ideal, walls, peaks_mb, failed,
                 max(monitor.hwm_kb.values(), default=0) / 1024, monitor.peak_tree_rss_kb / 1024,
                 pipeline_cpu, sandboxes_cpu)


def fixed_cost(env: dict[str, str], tenant: Tenant) -> tuple[float, float]:
    """(a no-change sync of one tenant, importing the code location alone), wall seconds."""
    started = time.perf_counter()
    subprocess.run([CLI, "sync", "--tenant", tenant.key], env=env, capture_output=True)
    no_change = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import bridged_auth0_pipeline.definitions"], env=env, check=True)
    return no_change, time.perf_counter() - started


def print_round(r: Round, tenants: list[Tenant]) -> None:
    print(f"\n{r.label}: C={r.concurrency}  total {r.wall:.1f} s, ideal {r.ideal:.1f} s  ratio {r.wall / r.ideal:.2f};"
          f"  peak RSS: largest run {r.peak_run_mb:.0f} MB, all at once {r.peak_total_mb:.0f} MB;"
          f"  failed runs: {len(r.failed)} {r.failed or ''}")
    print(f"    CPU: the runs {r.pipeline_cpu:.1f} s (the machine's busy time less the sandboxes'), the sandboxes {r.sandboxes_cpu:.1f} s"
          f" ({os.cpu_count()} cores give {os.cpu_count() * r.wall:.1f} s in {r.wall:.1f} s)")
    for tenant in tenants:
        wall = r.walls.get(tenant.key)
        shown = f"{wall:7.1f} s" if wall is not None else "      —"
        peak = r.peaks_mb.get(tenant.key)
        print(f"    {tenant.key:<10} {tenant.users:>7,} users  wall {shown}  floor {tenant.floor_seconds:6.1f} s"
              f"  peak RSS {f'{peak:4d} MB' if peak is not None else '   —'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--min-users", type=int, default=1000)
    parser.add_argument("--max-users", type=int, default=20000)
    parser.add_argument("--plan", default="enterprise", choices=("free", "essentials", "enterprise"),
                        help="each tenant's own rate limits (default enterprise: 50 burst, 16/s)")
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--storm-concurrency", type=int, default=4, help="0: no storm round")
    parser.add_argument("--again", default="4", type=lambda text: {int(c) for c in text.split(",") if c},
                        help="at these C, a second round of full syncs with the first's run history (longest first)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)

    root = args.workdir or Path(tempfile.mkdtemp(prefix="bridged-tenants-"))
    started = time.perf_counter()
    tenants = start_tenants(args.tenants, args.min_users, args.max_users, args.plan)
    print(f"{len(tenants)} tenants, {sum(t.users for t in tenants):,} users in all, {args.plan} plan each "
          f"(sandboxes ready in {time.perf_counter() - started:.1f} s); work folder {root}")
    key = Fernet.generate_key().decode()
    rounds = []
    try:
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            env = deployment_env(root / f"c{concurrency}", key)
            connect_all(env, tenants)
            rounds.append(run_round("full sync of every tenant", env, tenants, concurrency))
            print_round(rounds[-1], tenants)
            if concurrency in args.again:
                # The same full syncs into fresh warehouses, now that the instance knows each
                # tenant's last run: `sync --all` starts the longest first.
                again = {**env, "BRIDGED_WAREHOUSE_DIR": str(root / f"c{concurrency}" / "tenants-again")}
                print_round(run_round("again, with the first round's run history", again, tenants, concurrency), tenants)
        if args.storm_concurrency:
            stormy = tenants[len(tenants) // 2]
            httpx.post(f"{stormy.base_url}/__sandbox/faults", json={"always_429": True, "reset_in_seconds": 5})
            env = deployment_env(root / "storm", key)
            connect_all(env, [t for t in tenants if t is not stormy])
            subprocess.run([CLI, "connect", stormy.key, "--domain", stormy.base_url, "--client-id", stormy.client_id,
                            "--force"], input=stormy.secret, env=env, capture_output=True, text=True, check=True)
            storm = run_round(f"429 storm on {stormy.key}", env, tenants, args.storm_concurrency)
            print_round(storm, tenants)
            calm = next((r for r in rounds if r.concurrency == args.storm_concurrency), None)
            if calm:
                others = [t.key for t in tenants if t is not stormy and t.key in calm.walls and t.key in storm.walls]
                slowdown = sum(storm.walls[k] for k in others) / sum(calm.walls[k] for k in others) - 1
                median = statistics.median(storm.walls[k] / calm.walls[k] - 1 for k in others)
                print(f"    the other {len(others)} tenants: {slowdown:+.1%} in all (median {median:+.1%}) against the calm round")
            httpx.post(f"{stormy.base_url}/__sandbox/faults", json={})
        smallest = tenants[0]
        no_change, imports = fixed_cost(deployment_env(root / f"c{rounds[0].concurrency}", key), smallest)
        print(f"\nfixed cost: a no-change sync of {smallest.key} {no_change:.1f} s "
              f"(importing the code location alone {imports:.1f} s)")
        print("\n" + "  ".join(f"C={r.concurrency}: {r.wall:.1f} s / ideal {r.ideal:.1f} s = {r.wall / r.ideal:.2f}" for r in rounds))
    finally:
        for tenant in tenants:
            tenant.process.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
