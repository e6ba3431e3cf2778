"""Extract every role and its members (a full listing each run: roles are few)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from bridged_auth0_pipeline.extraction.common import raw_asset, request_metadata
from bridged_auth0_pipeline.orchestration.resources import Auth0Resource, open_warehouse
from bridged_auth0_pipeline.warehouse.staging import extraction_transaction, stage_records, stage_role_members


@raw_asset("roles", "Auth0 roles and their member user_ids, as fetched by the last run.")
def staged_roles(context: dg.AssetExecutionContext, auth0: Auth0Resource, warehouse: DuckDBResource) -> dg.MaterializeResult:
    client = auth0.get_client()
    before = client.stats.management_requests
    members = 0
    with open_warehouse(warehouse) as con:
        roles = list(client.roles())
        with extraction_transaction(con, "roles", "full") as extraction:
            stage_records(con, "roles", roles, extraction)
            for role in roles:
                user_ids = [member["user_id"] for member in client.role_members(role["id"]) if member.get("user_id")]
                stage_role_members(con, role["id"], user_ids)
                members += len(user_ids)
            extraction.api_total = len(roles)
            extraction.details = {"memberships": members}
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(roles), "memberships": members, **request_metadata(client, before)}
    )
