"""A domain with `user:password@` is refused, and the error (which reaches the console, the event log
and the registry) echoes it without them."""

from __future__ import annotations

import pytest

from bridged_auth0_pipeline.auth0 import Auth0ConfigError, Auth0Connection

PASSWORD = "hunter2-MARKER"


@pytest.mark.parametrize(("domain", "shown"), [
    (f"https://admin:{PASSWORD}@tenant.auth0.com/", "https://***@tenant.auth0.com/"),
    (f"admin:{PASSWORD}@tenant.auth0.com", "***@tenant.auth0.com"),
    (f"https://:{PASSWORD}@tenant.auth0.com", "https://***@tenant.auth0.com"),  # a password without a user name
    (f"http://{PASSWORD}@tenant.auth0.com", "http://***@tenant.auth0.com"),
    (f"https://a@{PASSWORD}@tenant.auth0.com/x", "https://***@tenant.auth0.com/x"),
])
def test_a_domain_with_userinfo_is_refused_and_echoed_without_it(domain, shown):
    with pytest.raises(Auth0ConfigError) as error:
        Auth0Connection.from_settings(domain)
    message = str(error.value)
    assert PASSWORD not in message
    assert message.startswith(f"AUTH0_DOMAIN={shown!r} is not a valid Auth0 domain: it carries a user name or "
                              "password before the host"), message
    assert "Fix: use the bare host" in message


def test_a_runs_event_log_never_holds_the_password(sandbox_factory, pipeline_env, run_sync, monkeypatch):
    import dagster as dg

    from bridged_auth0_pipeline.orchestration.sensors import failure_cause

    server = sandbox_factory()
    pipeline_env(server)
    monkeypatch.setenv("AUTH0_DOMAIN", server.base_url.replace("http://", f"http://admin:{PASSWORD}@"))
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_sync(instance=instance, raise_on_error=False)
        assert not result.success
        cause = failure_cause(instance, result.run_id)
        logged = " ".join(f"{entry.user_message} {entry.dagster_event}" for entry in instance.all_logs(result.run_id))
    assert "Auth0ConfigError: AUTH0_DOMAIN='http://***@127.0.0.1:" in cause, cause
    assert PASSWORD not in logged
