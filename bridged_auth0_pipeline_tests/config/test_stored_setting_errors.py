"""A connected tenant's stored choice the pipeline cannot use is named as that tenant's stored
setting, with the `bridged-auth0 settings` command that changes it; not as a BRIDGED_* variable,
which does not set it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridged_auth0_pipeline.config.registry import ConnectionRegistry
from bridged_auth0_pipeline.config.settings import SettingsError, SyncSettings
from bridged_auth0_pipeline.config.tenants import TenantDirectory

CLI = str(Path(sys.executable).with_name("bridged-auth0"))


@pytest.fixture
def directory(monkeypatch, tmp_path) -> TenantDirectory:
    for name in list(os.environ):
        if name.startswith(("AUTH0_", "BRIDGED_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BRIDGED_CONNECTIONS_PATH", str(tmp_path / "connections.db"))
    return TenantDirectory(SyncSettings.from_env())


def store(registry: ConnectionRegistry, key: str, settings: dict[str, str]) -> None:
    registry.put(key, domain="acme.us.auth0.com", client_id="c", audience=None, method="client_credentials",
                 secret_encrypted="gAAAA-ciphertext", settings=settings, token_expires_at=None, test_result="ok")


@pytest.mark.parametrize(("stored", "expected"), [
    ({"frequency": "monthly"},
     "tenant acme's stored frequency='monthly' is not valid. Allowed values: daily, hourly, weekly (default daily). "
     "Fix: `bridged-auth0 settings acme --frequency <value>`."),
    ({"active_days": "0"},
     "tenant acme's stored active_days='0' is not valid. Allowed values: a whole number from 1 to 3650 (default 30). "
     "Fix: `bridged-auth0 settings acme --active-days <value>`."),
    ({"data_objects": "user_metadata"},
     "tenant acme's stored data_objects='user_metadata' is not valid: user_metadata needs users (metadata is read "
     "from the user profiles). Allowed values: a subset of users, user_metadata, logins, organizations that includes "
     "users whenever it includes user_metadata. Fix: `bridged-auth0 settings acme --data-objects <value>`."),
])
def test_a_bad_stored_choice_names_the_tenant_and_the_command_that_changes_it(directory, stored, expected):
    store(directory.registry, "acme", stored)
    with pytest.raises(SettingsError) as error:
        directory.tenant("acme")
    assert str(error.value) == expected
    assert "BRIDGED_" not in str(error.value)


def test_the_environments_variables_are_still_named_as_variables():
    with pytest.raises(SettingsError) as error:
        SyncSettings.from_env({"BRIDGED_SYNC_FREQUENCY": "monthly"})
    assert str(error.value) == ("BRIDGED_SYNC_FREQUENCY='monthly' is not valid. Allowed values: daily, hourly, weekly "
                                "(default daily).")


def test_the_command_the_error_names_repairs_the_stored_choice(directory):
    """`bridged-auth0 settings acme --frequency <value>` must work while the stored value is refused."""
    store(directory.registry, "acme", {"frequency": "monthly"})
    env = {**os.environ, "BRIDGED_CONNECTIONS_PATH": str(directory.registry.path)}
    shown = subprocess.run([CLI, "settings", "acme"], env=env, capture_output=True, text=True)
    assert shown.returncode != 0 and "tenant acme's stored frequency='monthly' is not valid" in shown.stderr

    fixed = subprocess.run([CLI, "settings", "acme", "--frequency", "hourly"], env=env, capture_output=True, text=True)
    assert (fixed.returncode, fixed.stderr) == (0, ""), fixed.stderr
    assert "Updated tenant acme." in fixed.stdout and "hourly" in fixed.stdout
    assert directory.tenant("acme").settings.sync_frequency == "hourly"
