"""`bridged-auth0 dev` (`make dev`): the Dagster UI and daemon, with a tenant to look at.

With no tenant configured (no AUTH0_DOMAIN, nothing connected) it serves the built-in sandbox —
the same tenant as `make sync` — for as long as the UI runs, and points the environment's tenant
at it; otherwise `dagster dev` starts as is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bridged_auth0_pipeline.commands.dagster_home import dagster_home_in
from bridged_auth0_pipeline.commands.sync import DEMO_USERS, start_demo_sandbox
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory


def run_dev(dagster_args: list[str]) -> int:
    env = dict(os.environ)
    server = None
    # `dagster dev --help` serves nothing (its -h is --host, not help)
    asks_for_help = "--help" in dagster_args
    if not asks_for_help and not TenantDirectory(SyncSettings.from_env()).keys():
        server = start_demo_sandbox(env, DEMO_USERS)
        print(f"No tenant is configured: the UI syncs the built-in sandbox tenant ({DEMO_USERS} users) at "
              f"{server.base_url} while it runs. Set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, or "
              "`bridged-auth0 connect`, to use a real tenant.", flush=True)
    dagster = Path(sys.executable).with_name("dagster")
    try:
        with dagster_home_in(env):
            return subprocess.call([str(dagster), "dev", *dagster_args], env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        if server is not None:
            server.__exit__(None, None, None)
