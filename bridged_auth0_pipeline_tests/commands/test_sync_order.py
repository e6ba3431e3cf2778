"""`sync --all` starts the longest runs first, so none starts last and keeps the others' slots idle."""

from types import SimpleNamespace

from bridged_auth0_pipeline.commands.sync import longest_first


def run(seconds: float | None):
    """A run record as Dagster's: start and end as UNIX times; no end while it runs."""
    return SimpleNamespace(start_time=1_000.0, end_time=None if seconds is None else 1_000.0 + seconds)


def test_never_synced_first_then_by_the_latest_runs_duration():
    latest = {"small": run(4), "large": run(35), "medium": run(12), "running": run(None)}
    order = longest_first(["small", "new-a", "large", "running", "medium", "new-b"], latest)
    # New tenants' first syncs are full ones of unknown length; a run still going has no duration.
    assert order == ["new-a", "running", "new-b", "large", "medium", "small"]


def test_ties_keep_the_directory_order():
    assert longest_first(["b", "a", "c"], {"b": run(5), "a": run(5), "c": run(5)}) == ["b", "a", "c"]


def test_first_syncs_by_active_users_largest_first_uncounted_before_them():
    """`connect` counts a tenant's active users (read:stats): the size signal a first sync has."""
    latest = {"synced": run(50)}
    sizes = {"small": 120, "large": 9_000, "medium": 2_500, "synced": 40_000}
    order = longest_first(["small", "synced", "uncounted", "large", "medium"], latest, sizes)
    assert order == ["uncounted", "large", "medium", "small", "synced"]
