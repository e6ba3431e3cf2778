"""Paging reaches only whole pages under the 1000-result cap (990 users at 30 a page): a timestamp
shared by more users than that must come from the export job, whatever BRIDGED_PAGE_SIZE is."""

from __future__ import annotations

import pytest

from bridged_auth0_pipeline.auth0.client import Auth0Client
from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.conftest import SECRET


@pytest.mark.parametrize("page_size", [30, 50])
def test_995_users_sharing_one_updated_at_are_all_listed(sandbox_factory, page_size):
    tenant = SandboxTenant.generate(users=1100, seed=5, shared_timestamp_users=995)
    server = sandbox_factory(tenant)
    with Auth0Client.connect(server.base_url, server.client_id, SECRET, page_size=page_size) as client:
        user_ids = [user["user_id"] for user in client.users_updated_since(None)]
    assert sorted(user_ids) == sorted(tenant.users)
    exported = any(r.path == "/api/v2/jobs/users-exports" for r in server.requests)
    assert exported == (page_size == 30), "only a page size that leaves users out of reach needs the export"
