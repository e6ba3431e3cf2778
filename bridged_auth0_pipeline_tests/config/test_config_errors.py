"""Each configuration mistake fails early, names the cause and the fix, and leaves the warehouse as it was."""

from __future__ import annotations

import dagster as dg
import pytest

from bridged_auth0_pipeline.auth0 import Auth0ConfigError
from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query


def failure_text(result) -> str:
    texts = []
    for event in result.all_events:
        if event.is_step_failure or event.is_failure:
            error = event.event_specific_data.error
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)


@pytest.fixture
def synced(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = SandboxTenant.generate(users=60, seed=41)
    server = sandbox_factory(tenant)
    pipeline_env(server)
    assert run_sync().success
    return server, query(warehouse_path, "SELECT * FROM auth0.users ORDER BY user_id")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AUTH0_DOMAIN": "tenant.auth0.com/api"}, "AUTH0_DOMAIN='tenant.auth0.com/api' is not a valid Auth0 domain. Fix:"),
        ({"AUTH0_DOMAIN": "http://tenant.example.com"}, "uses http:// for a non-loopback host"),
        ({"AUTH0_CLIENT_SECRET": "wrong"}, "Connection fails (401"),
        ({"AUTH0_CLIENT_SECRET": "wrong"}, "verify AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET in Auth0 Dashboard"),
        ({"AUTH0_AUDIENCE": "https://someone-else.auth0.com/api/v2/"}, "wrong audience 'https://someone-else.auth0.com/api/v2/'"),
        ({"BRIDGED_USER_FILTER": "role:no-such-role"}, "BRIDGED_USER_FILTER names roles that do not exist in the tenant: no-such-role"),
    ],
)
def test_configuration_mistakes_fail_with_cause_and_fix(synced, monkeypatch, run_sync, warehouse_path, env, expected):
    _, users_before = synced
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_sync(raise_on_error=False)
    assert not result.success
    assert expected in failure_text(result)
    assert query(warehouse_path, "SELECT * FROM auth0.users ORDER BY user_id") == users_before


def test_missing_scope_names_the_scope(sandbox_factory, pipeline_env, run_sync):
    server = sandbox_factory(scopes=("read:users", "read:roles"))
    pipeline_env(server)
    result = run_sync(raise_on_error=False)
    assert not result.success
    assert "the token lacks read:logs" in failure_text(result)
    assert "grant read:logs to the application" in failure_text(result)


@pytest.mark.parametrize(
    ("missing", "error_type", "wording"),
    [
        # No domain: no tenant at all for the run (a Dagster Failure that names the variable).
        ("AUTH0_DOMAIN", dg.Failure, "the environment's tenant `default` needs AUTH0_DOMAIN"),
        ("AUTH0_CLIENT_ID", Auth0ConfigError, "AUTH0_CLIENT_ID is not set. Fix:"),
        ("AUTH0_CLIENT_SECRET", Auth0ConfigError, "AUTH0_CLIENT_SECRET is not set. Fix:"),
    ],
)
def test_missing_variables_are_named(synced, monkeypatch, run_sync, missing, error_type, wording):
    """Said before any request: a missing secret is not sent as an empty one and reported as a 401."""
    server, _ = synced
    token_requests = server.token_requests()
    monkeypatch.delenv(missing)
    with pytest.raises(error_type) as error:
        run_sync()
    assert wording in str(error.value)
    assert server.token_requests() == token_requests, "no token request reached the sandbox"
