"""The code location as Dagster loads it: one schedule whose cron follows BRIDGED_SYNC_FREQUENCY, the
sensor, the effective settings in the UI (never the secret), and a bad value failing the load."""

from __future__ import annotations

import importlib
import os
import sys
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from bridged_auth0_pipeline.config.settings import SettingsError, SyncSettings
from bridged_auth0_pipeline_tests.helpers import SECRET

DEFINITIONS_MODULE = "bridged_auth0_pipeline.definitions"


def load_definitions(monkeypatch: pytest.MonkeyPatch, **env: str) -> dg.Definitions:
    """Import the definitions module the way `dagster dev` does, under the given environment."""
    for name in [n for n in list(sys.modules) if n == DEFINITIONS_MODULE]:
        monkeypatch.delitem(sys.modules, name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return importlib.import_module(DEFINITIONS_MODULE).defs


@pytest.fixture
def clean_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith(("AUTH0_", "BRIDGED_"))]:
        monkeypatch.delenv(name)
    # The module stays importable for the other tests whatever happens here.
    monkeypatch.setitem(sys.modules, DEFINITIONS_MODULE, sys.modules.get(DEFINITIONS_MODULE) or importlib.import_module(DEFINITIONS_MODULE))
    return monkeypatch


# Every hour from Tuesday 2026-01-06 00:00 UTC for nine days (one Monday, 2026-01-12, among them).
WINDOW = [datetime(2026, 1, 6, tzinfo=timezone.utc) + timedelta(hours=n) for n in range(9 * 24)]


@pytest.mark.parametrize(
    ("frequency", "due"),
    [
        (None, lambda at: at.hour == 3),
        ("daily", lambda at: at.hour == 3),
        ("hourly", lambda at: True),
        ("weekly", lambda at: at.hour == 3 and at.weekday() == 0),  # Mondays
    ],
    ids=["default", "daily", "hourly", "weekly"],
)
def test_one_schedule_requests_the_environment_tenant_at_its_frequency(clean_env, tmp_path, frequency, due):
    defs = load_definitions(clean_env, AUTH0_DOMAIN="127.0.0.1:1", BRIDGED_CONNECTIONS_PATH=str(tmp_path / "none.db"),
                            **({"BRIDGED_SYNC_FREQUENCY": frequency} if frequency else {}))
    assert [schedule.name for schedule in defs.schedules] == ["auth0_sync_schedule"], "one stable name whatever the value"
    schedule = defs.resolve_schedule_def("auth0_sync_schedule")
    assert schedule.cron_schedule == "* * * * *", "it ticks every minute and picks the tenants that are due"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "auth0_sync"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    # The schedule evaluated at every hour of the window: `default` is due at exactly its frequency's ticks.
    expected = [at for at in WINDOW if due(at)]
    assert 1 <= len(expected) <= len(WINDOW)
    requested = []
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", ["default"])
        for at in WINDOW:
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=at) as context:
                # The open instance, not one reopened from its ref at each of the 216 ticks (80 ms each).
                context._instance = instance
                run_requests = schedule.evaluate_tick(context).run_requests or []
            assert len(run_requests) <= 1
            for request in run_requests:
                assert request.job_name in (None, "auth0_sync")
                assert request.partition_key == "default" and request.tags["bridged/tenant"] == "default"
                requested.append(at)
        assert requested == expected
        a_minute_later = expected[0] + timedelta(minutes=1)
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=a_minute_later) as context:
            assert not schedule.evaluate_tick(context).run_requests


def test_the_sensor_runs_by_default_and_watches_auth0_sync(clean_env):
    defs = load_definitions(clean_env)
    sensor = defs.resolve_sensor_def("auth0_rate_limit_rerun_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == "auth0_sync"
    assert sensor.minimum_interval_seconds == 30


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BRIDGED_SYNC_FREQUENCY", "monthly", "BRIDGED_SYNC_FREQUENCY='monthly' is not valid. Allowed values: daily, hourly, weekly"),
        ("BRIDGED_DATA_OBJECTS", "users,tokens", "BRIDGED_DATA_OBJECTS='users,tokens' is not valid. Allowed values: a non-empty comma-separated subset of users, user_metadata, logins"),
        ("BRIDGED_DATA_OBJECTS", "user_metadata,logins", "BRIDGED_DATA_OBJECTS='user_metadata,logins' is not valid: user_metadata needs users"),
        ("BRIDGED_USER_FILTER", "vip", "BRIDGED_USER_FILTER='vip' is not valid. Allowed values: all, active, role:<name>[,<name>…]"),
        ("BRIDGED_INCLUDE_METADATA", "maybe", "BRIDGED_INCLUDE_METADATA='maybe' is not valid. Allowed values: yes, no"),
        ("BRIDGED_ACTIVE_DAYS", "-3", "BRIDGED_ACTIVE_DAYS='-3' is not valid. Allowed values: a whole number from 1 to 3650"),
        ("BRIDGED_RATE_LIMIT_MAX_RERUNS", "many", "BRIDGED_RATE_LIMIT_MAX_RERUNS='many' is not valid. Allowed values: a whole number from 0 to 100"),
    ],
)
def test_an_invalid_value_fails_the_load_naming_variable_value_and_allowed_values(clean_env, name, value, message):
    with pytest.raises(SettingsError) as error:
        load_definitions(clean_env, **{name: value})
    assert message in str(error.value)


def test_the_effective_settings_show_in_the_ui_and_the_secret_never_does(clean_env):
    defs = load_definitions(
        clean_env,
        AUTH0_DOMAIN="127.0.0.1:1", AUTH0_CLIENT_ID="client", AUTH0_CLIENT_SECRET=SECRET,
        BRIDGED_SYNC_FREQUENCY="hourly", BRIDGED_DATA_OBJECTS="logins,users", BRIDGED_USER_FILTER="role:admin,billing",
        BRIDGED_ACTIVE_DAYS="14", BRIDGED_INCLUDE_METADATA="no", BRIDGED_RATE_LIMIT_MAX_RERUNS="5",
    )
    job = defs.resolve_job_def("auth0_sync")
    shown = {key: value.value for key, value in job.metadata.items()}
    assert shown == {
        "default_tenant": "default (AUTH0_DOMAIN; a run without a partition syncs it)",
        "connections_path": "data/connections.db",
        "warehouse_dir": "data/tenants",
        "sync_frequency": "hourly (0 * * * * UTC)",
        "data_objects": "users,logins",
        "user_filter": "role:admin,billing",
        "active_days": "14",
        "include_metadata": "no",
        "page_size": "50",
        "rate_limit_max_wait_seconds": "300",
        "rate_limit_max_reruns": "5",
        "full_sync_every_days": "7",
    }
    # The tenant resource's config (shown in the UI) is the deployment's settings; the secret is read
    # from the environment only by the run that calls Auth0 (see test_orchestration_cli for what the
    # webserver really serves).
    tenant = defs.resources["tenant"]
    settings = SyncSettings.from_json(tenant.settings_json)
    assert (settings.data_objects, str(settings.user_filter), settings.include_metadata, settings.active_days) == (
        ("users", "logins"), "role:admin,billing", False, 14)
    assert SECRET not in repr(shown) + repr(tenant) + tenant.settings_json



def test_the_code_location_does_not_import_pandas():
    """pandas (with numpy) costs the run process ~80 MB of its 600 MB budget (issue 7); the pipeline
    stages records without DataFrames. Analysts still get it for `.df()`."""
    import subprocess

    code = f"import sys, {DEFINITIONS_MODULE}; print(sorted({{'pandas', 'numpy'}} & set(sys.modules)))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_"))}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
