"""`python -m bridged_auth0_pipeline.commands.run_tenant KEY`: one tenant's auth0_sync as a real run.

The run is created in the Dagster instance of DAGSTER_HOME (a throwaway one without it), with the
tenant's partition, tags and data objects, and executed in this process, like `dagster job execute`
(which cannot select assets). `bridged-auth0 sync --tenant` starts it and follows its log.
"""

from __future__ import annotations

import os
import sys

import dagster as dg

from bridged_auth0_pipeline.commands.follow import PEAK_MEMORY
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory
from bridged_auth0_pipeline.definitions import auth0_sync_job
from bridged_auth0_pipeline.orchestration.jobs import sync_asset_keys, tenant_tags


def main(key: str) -> int:
    settings = SyncSettings.from_env()
    tenant = TenantDirectory(settings).tenant(key)
    selection = sorted(sync_asset_keys(tenant.settings) & sync_asset_keys(settings), key=str)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    with instance:
        result = dg.execute_job(dg.reconstructable(auth0_sync_job), instance, tags=tenant_tags(key),
                                asset_selection=selection)
    if (peak := peak_memory_mb()) is not None:
        print(PEAK_MEMORY.format(mb=peak), flush=True)
    return 0 if result.success else 1


def peak_memory_mb() -> int | None:
    """This process's peak resident memory (a forked run's own, not its parent's); None on Windows."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10))  # bytes on macOS, KiB on Linux


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
