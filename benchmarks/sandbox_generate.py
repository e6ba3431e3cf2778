#!/usr/bin/env python
"""How long the sandbox takes to generate a synthetic tenant (the target: 100k users in under 20 s).

    .venv/bin/python benchmarks/sandbox_generate.py                 # 100k users, 2,000 on one updated_at
    .venv/bin/python benchmarks/sandbox_generate.py --users 1000000 --repeat 1

Prints figures, not pass/fail: the tests check what is generated (sandbox/test_sandbox_tenant.py),
this script how fast, which depends on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python benchmarks/sandbox_generate.py` without an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bridged_auth0_pipeline.sandbox import SandboxTenant  # noqa: E402

TARGET_SECONDS_PER_100K = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--shared-timestamp-users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    target = TARGET_SECONDS_PER_100K * args.users / 100_000
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        tenant = SandboxTenant.generate(users=args.users, seed=args.seed,
                                        shared_timestamp_users=args.shared_timestamp_users)
        times.append(time.perf_counter() - started)
        print(f"{len(tenant.users):,} users, {len(tenant.logs):,} log events: {times[-1]:.2f} s", flush=True)
        del tenant
    print(f"best {min(times):.2f} s, worst {max(times):.2f} s (target: under {target:.0f} s)")


if __name__ == "__main__":
    main()
