"""The error that asks for the Management API grant lists every scope the pipeline reads with:
the ones every sync needs, the organizations' ones and the optional ones (auth0/errors.py)."""

from __future__ import annotations

import pytest

from bridged_auth0_pipeline.auth0 import Auth0AuthorizationError, Auth0Client
from bridged_auth0_pipeline.auth0.errors import ORGANIZATION_SCOPES, REQUIRED_SCOPES
from bridged_auth0_pipeline_tests.helpers import SECRET, query


def test_an_application_without_the_grant_is_told_every_scope(sandbox_factory):
    server = sandbox_factory()
    server.grant_enabled = False
    with Auth0Client.connect(server.base_url, server.client_id, SECRET) as client, \
            pytest.raises(Auth0AuthorizationError) as error:
        list(client.roles())
    message = str(error.value)
    assert "not authorized for the Management API" in message
    assert message.endswith(
        "with the scopes read:users, read:logs, read:roles (with organizations in the data "
        "objects also read:organizations, read:organization_members, read:organization_member_roles; optional: "
        "read:connections, read:clients, read:stats)."), message


def test_the_required_and_organization_scopes_are_enough_for_a_whole_sync(sandbox_factory, pipeline_env, run_sync,
                                                                          warehouse_path):
    """No read:user_idp_tokens: the pipeline never uses identity-provider tokens."""
    server = sandbox_factory(scopes=REQUIRED_SCOPES + ORGANIZATION_SCOPES)
    pipeline_env(server, BRIDGED_DATA_OBJECTS="users,user_metadata,logins,organizations")
    assert run_sync().success
    assert query(warehouse_path, "SELECT count(*) FROM auth0.users") == [(len(server.tenant.users),)]
