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


def test_an_audience_is_echoed_without_userinfo_too(sandbox_factory):
    from bridged_auth0_pipeline.auth0 import Auth0Client
    from bridged_auth0_pipeline.auth0.errors import Auth0AudienceError
    from bridged_auth0_pipeline_tests.helpers import SECRET

    with pytest.raises(Auth0ConfigError) as not_a_url:
        Auth0Connection.from_settings("tenant.auth0.com", f"ops:{PASSWORD}@api")
    assert PASSWORD not in str(not_a_url.value) and "AUTH0_AUDIENCE='***@api' is not a URL" in str(not_a_url.value)

    server = sandbox_factory()
    audience = f"https://ops:{PASSWORD}@other.auth0.com/api/v2/"
    with Auth0Client.connect(server.base_url, server.client_id, SECRET, audience=audience) as client:
        with pytest.raises(Auth0AudienceError) as wrong:
            list(client.roles())
    assert PASSWORD not in str(wrong.value) and "wrong audience 'https://***@other.auth0.com/api/v2/'" in str(wrong.value)
