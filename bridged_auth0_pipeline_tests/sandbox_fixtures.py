"""Helpers and fixtures for tests that talk to the Auth0 sandbox over real HTTP.

Import the fixtures into a test module (`from bridged_auth0_pipeline_tests.sandbox_fixtures import sandbox_server, ...`); this
is not a conftest so it only affects the modules that ask for it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import httpx
import pytest

from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
REPO = Path(__file__).resolve().parents[1]
# Auth0's Management API OpenAPI 3.1 spec (Auth0's docs repository, mid-2026), trimmed to the users,
# logs, roles, jobs, organizations, clients and connections paths and the components they use.
MANAGEMENT_OAS = Path(__file__).resolve().parent / "data" / "management-api-oas.json"


def fetch_token(server: SandboxServer, **overrides) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "audience": server.audience}
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    return httpx.post(f"{server.base_url}/oauth/token", json=body)


def management_client(server: SandboxServer, token: str | None = None) -> httpx.Client:
    """An httpx client authorised against the sandbox's Management API."""
    if token is None:
        response = fetch_token(server)
        response.raise_for_status()
        token = response.json()["access_token"]
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"},
                        timeout=30)


@pytest.fixture(scope="module")
def sandbox_tenant() -> SandboxTenant:
    """3,000 synthetic users, 40 of them sharing one updated_at. Treat as read-only."""
    return SandboxTenant.generate(users=3000, seed=7, shared_timestamp_users=40)


@pytest.fixture(scope="module")
def sandbox_server(sandbox_tenant):
    with SandboxServer(sandbox_tenant) as server:
        yield server


@pytest.fixture(scope="module")
def api(sandbox_server):
    with management_client(sandbox_server) as client:
        yield client


@lru_cache(maxsize=1)
def _management_spec() -> dict:
    return json.loads(MANAGEMENT_OAS.read_text())


def response_validator(path: str, method: str = "get", status: str = "200"):
    """A jsonschema validator for one operation's response body, refs resolved in the OAS."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    return _validator(
        f"#/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema")


def component_validator(name: str):
    """A validator for one of the OAS's `#/components/schemas/<name>`."""
    return _validator(f"#/components/schemas/{name}")


def _validator(pointer: str):
    import jsonschema
    import referencing
    from referencing.jsonschema import DRAFT202012

    spec = _management_spec()
    registry = referencing.Registry().with_resource(
        "urn:auth0-management", referencing.Resource.from_contents(
            spec, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator(
        {"$ref": "urn:auth0-management" + pointer}, registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
