"""A run of a tenant carries that tenant's tags however it is launched: the run queue limits on
them (one writer per DuckDB file). The UI launches auth0_sync for a partition with the tags the
job's partitioned config gives that partition; `dagster job execute` without one syncs `default`."""

from __future__ import annotations

from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.definitions import build_definitions
from bridged_auth0_pipeline.orchestration.jobs import AUTH0_SYNC


def _job():
    return build_definitions(SyncSettings.from_env()).resolve_job_def(AUTH0_SYNC)


def test_a_partition_launched_from_the_ui_carries_its_tenant_tag(pipeline_env, sandbox_factory):
    pipeline_env(sandbox_factory())
    job = _job()
    # What the launchpad and backfills put on a run of partition `acme`; they override the job's own tags.
    tags = job.partitioned_config.get_tags_for_partition_key("acme", job_name=AUTH0_SYNC)
    assert tags["bridged/tenant"] == "acme" and tags["dagster/partition"] == "acme"
    assert job.tags == {"bridged/tenant": "default", "dagster/partition": "default"}, "no partition: the default tenant"
