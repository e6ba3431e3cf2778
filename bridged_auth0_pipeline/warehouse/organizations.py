"""Loads of organizations (members, member roles), connections and clients, run inside the single
warehouse transaction of `warehouse_tables` (warehouse/assets.py)."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from bridged_auth0_pipeline.store.loads import execute_load
from bridged_auth0_pipeline.warehouse.metadata import table_metadata
from bridged_auth0_pipeline.warehouse.staged import load_member_lists, staged

ORGANIZATIONS = dg.AssetKey(["auth0", "organizations"])
ORGANIZATION_MEMBERS = dg.AssetKey(["auth0", "organization_members"])
ORGANIZATION_MEMBER_ROLES = dg.AssetKey(["auth0", "organization_member_roles"])
CONNECTIONS = dg.AssetKey(["auth0", "connections"])
CLIENTS = dg.AssetKey(["auth0", "clients"])

DESCRIPTIONS = {
    ORGANIZATIONS: "One row per Auth0 organization (branding and metadata as JSON); deleted_at once Auth0 no longer lists it.",
    ORGANIZATION_MEMBERS: "One row per (organization, member user).",
    ORGANIZATION_MEMBER_ROLES: "One row per role a member holds within an organization.",
    CONNECTIONS: "One row per Auth0 connection: strategy, method type (database, passwordless, social, enterprise), enabled clients.",
    CLIENTS: "One row per Auth0 application: name, app_type, is_first_party (no secret or key is ever stored).",
}


def load_organizations(con, synced_at: datetime) -> dict[dg.AssetKey, dict]:
    return load_member_lists(con, "organizations", synced_at, {
        ORGANIZATIONS: ("auth0.organizations", "name"),
        ORGANIZATION_MEMBERS: ("auth0.organization_members", "org_id, user_id"),
        ORGANIZATION_MEMBER_ROLES: ("auth0.organization_member_roles", "org_id, user_id, role_id"),
    })


def load_connections(con, synced_at: datetime) -> dict[dg.AssetKey, dict]:
    """Each listing the extraction could read replaces its table; one skipped for a missing scope leaves it."""
    skipped = staged(con, "connections").details.get("skipped", {})
    metadata = {}
    for key, stream, order in ((CONNECTIONS, "connections", "name"), (CLIENTS, "clients", "name")):
        if stream not in skipped:
            execute_load(con, f"loads/{stream}.sql", synced_at=synced_at)
        metadata[key] = {**table_metadata(con, f"auth0.{stream}", order),
                         "refreshed": "no: the application lacks " + skipped[stream] if stream in skipped else "yes"}
    return metadata
