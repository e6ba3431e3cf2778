"""AUTH0_DOMAIN / AUTH0_AUDIENCE parsing: accepted forms, and a clear refusal for everything else."""

import pytest

from bridged_auth0_pipeline.auth0 import Auth0ConfigError
from bridged_auth0_pipeline.auth0.connection import Auth0Connection


@pytest.mark.parametrize(
    ("domain", "base_url"),
    [
        ("tenant.us.auth0.com", "https://tenant.us.auth0.com"),
        ("https://tenant.auth0.com/", "https://tenant.auth0.com"),
        ("  login.example.com ", "https://login.example.com"),
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("http://localhost:9000/", "http://localhost:9000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_accepted_domains(domain, base_url):
    connection = Auth0Connection.from_settings(domain)
    assert connection.base_url == base_url
    assert connection.audience == f"{base_url}/api/v2/"


def test_explicit_audience_wins():
    assert Auth0Connection.from_settings("a.auth0.com", "https://b.auth0.com/api/v2/").audience == "https://b.auth0.com/api/v2/"


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (None, "AUTH0_DOMAIN is not set"),
        ("", "AUTH0_DOMAIN is not set"),
        ("http://tenant.auth0.com", "uses http:// for a non-loopback host"),
        ("http://10.0.0.5:8080", "uses http:// for a non-loopback host"),
        ("tenant.auth0.com/api/v2", "is not a valid Auth0 domain"),
        ("ftp://tenant.auth0.com", "is not a valid Auth0 domain"),
        ("ten ant.auth0.com", "is not a valid Auth0 domain"),
        ("https://user:pw@tenant.auth0.com", "is not a valid Auth0 domain"),
        ("tenant.auth0.com:99999", "is not a valid Auth0 domain"),
    ],
)
def test_refused_domains_name_the_setting_and_the_fix(domain, message):
    with pytest.raises(Auth0ConfigError) as error:
        Auth0Connection.from_settings(domain)
    assert message in str(error.value)
    assert "Fix:" in str(error.value)


def test_audience_must_be_a_url():
    with pytest.raises(Auth0ConfigError, match="AUTH0_AUDIENCE='api' is not a URL"):
        Auth0Connection.from_settings("tenant.auth0.com", "api")
