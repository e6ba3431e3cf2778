"""Settings are validated when the definitions load; a bad value names the variable, the value and the choices."""

import pytest

from bridged_auth0_pipeline.config.settings import SettingsError, SyncSettings, UserFilter


@pytest.mark.parametrize(
    ("frequency", "cron"), [(None, "0 3 * * *"), ("daily", "0 3 * * *"), ("hourly", "0 * * * *"), ("weekly", "0 3 * * 1"), ("Hourly", "0 * * * *")]
)
def test_frequency_picks_the_cron(frequency, cron):
    env = {} if frequency is None else {"BRIDGED_SYNC_FREQUENCY": frequency}
    assert SyncSettings.from_env(env).cron_schedule == cron


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BRIDGED_SYNC_FREQUENCY", "monthly", "BRIDGED_SYNC_FREQUENCY='monthly' is not valid. Allowed values: daily, hourly, weekly"),
        ("BRIDGED_DATA_OBJECTS", "users,tokens", "BRIDGED_DATA_OBJECTS='users,tokens' is not valid. Allowed values: a non-empty"),
        ("BRIDGED_DATA_OBJECTS", " , ", "BRIDGED_DATA_OBJECTS=',' is not valid"),
        ("BRIDGED_DATA_OBJECTS", "user_metadata", "user_metadata needs users"),
        ("BRIDGED_USER_FILTER", "role:", "BRIDGED_USER_FILTER='role:' is not valid. Allowed values: all, active, role:<name>"),
        ("BRIDGED_USER_FILTER", "vip", "BRIDGED_USER_FILTER='vip' is not valid"),
        ("BRIDGED_INCLUDE_METADATA", "maybe", "BRIDGED_INCLUDE_METADATA='maybe' is not valid. Allowed values: yes, no"),
        ("BRIDGED_PAGE_SIZE", "101", "BRIDGED_PAGE_SIZE='101' is not valid. Allowed values: a whole number from 1 to 100"),
        ("BRIDGED_PAGE_SIZE", "fifty", "BRIDGED_PAGE_SIZE='fifty' is not valid"),
        ("BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS", "-1", "BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS='-1' is not valid"),
        ("BRIDGED_ACTIVE_DAYS", "0", "BRIDGED_ACTIVE_DAYS='0' is not valid"),
        ("BRIDGED_RATE_LIMIT_MAX_RERUNS", "x", "BRIDGED_RATE_LIMIT_MAX_RERUNS='x' is not valid"),
        ("BRIDGED_PROGRESS_EVERY_SECONDS", "0", "BRIDGED_PROGRESS_EVERY_SECONDS='0' is not valid. Allowed values: a number from 0.1"),
    ],
)
def test_invalid_values_are_named_with_the_allowed_ones(name, value, expected):
    with pytest.raises(SettingsError) as error:
        SyncSettings.from_env({name: value})
    assert expected in str(error.value)


def test_parsed_values():
    settings = SyncSettings.from_env(
        {
            "BRIDGED_DATA_OBJECTS": "logins, users",
            "BRIDGED_USER_FILTER": "role:admin, billing,admin",
            "BRIDGED_INCLUDE_METADATA": "no",
            "BRIDGED_PAGE_SIZE": "100",
            "BRIDGED_PROGRESS_EVERY_SECONDS": "0.2",
        }
    )
    assert settings.progress_every_seconds == 0.2
    assert settings.data_objects == ("users", "logins")
    assert settings.user_filter == UserFilter("role", ("admin", "billing"))
    assert str(settings.user_filter) == "role:admin,billing"
    assert settings.include_metadata is False
    assert settings.page_size == 100
    defaults = SyncSettings.from_env({})
    assert (defaults.data_objects, defaults.user_filter.kind, defaults.include_metadata, defaults.page_size) == (
        ("users", "user_metadata", "logins"), "all", True, 50
    )


@pytest.mark.parametrize("value", ["user_metadata", "organizations,logins"])
def test_a_data_object_without_the_one_it_needs_names_every_allowed_value(value):
    with pytest.raises(SettingsError) as error:
        SyncSettings.from_env({"BRIDGED_DATA_OBJECTS": value})
    assert "Allowed values: a subset of users, user_metadata, logins, organizations that includes users" in str(error.value)


def test_unset_settings_take_the_defaults_of_the_settings_type():
    assert SyncSettings.from_env({}) == SyncSettings()
    assert SyncSettings(active_days=90, sync_frequency="hourly").with_choices({}) == SyncSettings()
