"""An HTTP client opened for Auth0 is closed even when what follows rejects the input before any
request: `bridged-auth0 user` with a malformed id, and a pasted Management API token that is not a JWT."""

from __future__ import annotations

import httpx
import pytest

from bridged_auth0_pipeline.auth0 import Auth0ConfigError, Auth0Connection
from bridged_auth0_pipeline.auth0.management_token import ManagementTokenSession
from bridged_auth0_pipeline.cli import main


@pytest.fixture
def opened_http_clients(monkeypatch) -> list[httpx.Client]:
    """Every httpx.Client created while the test runs (the real class, only counted)."""
    opened: list[httpx.Client] = []
    real_init = httpx.Client.__init__

    def counted_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(httpx.Client, "__init__", counted_init)
    return opened


def test_user_with_a_malformed_id_closes_the_client(sandbox_factory, pipeline_env, opened_http_clients, capsys):
    server = sandbox_factory()
    pipeline_env(server)
    assert main(["user", "not-an-id"]) == 2
    assert "Wrong user ID format: 'not-an-id'" in capsys.readouterr().err
    assert opened_http_clients and all(client.is_closed for client in opened_http_clients)
    assert server.requests == []  # rejected before any request


def test_a_pasted_token_that_is_not_a_jwt_leaves_no_client_open(sandbox_factory, opened_http_clients):
    server = sandbox_factory()
    with pytest.raises(Auth0ConfigError, match="not a JWT with an `exp` claim"):
        ManagementTokenSession(Auth0Connection.from_settings(server.base_url), "not-a-jwt", tenant="acme")
    assert opened_http_clients and all(client.is_closed for client in opened_http_clients)
