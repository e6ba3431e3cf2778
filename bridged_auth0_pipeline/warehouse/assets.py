"""Warehouse table assets: auth0_staging → typed auth0.* tables, each load one transaction."""

from datetime import datetime, timezone

import dagster as dg

from bridged_auth0_pipeline.extraction.assets import STAGED_LOGIN_EVENTS, STAGED_ROLES, STAGED_USERS
from bridged_auth0_pipeline.config.resources import TenantResource, tenant_partitions
from bridged_auth0_pipeline.warehouse.database import open_warehouse
from bridged_auth0_pipeline.warehouse.loads import run_load
from bridged_auth0_pipeline.warehouse.metadata import table_metadata
from bridged_auth0_pipeline.warehouse.staging import read_extraction
from bridged_auth0_pipeline.warehouse.state import StreamState, read_state, write_state

GROUP = "auth0_warehouse"
KINDS = {"duckdb"}
OWNERS = ["team:data"]

USERS = dg.AssetKey(["auth0", "users"])
USER_IDENTITIES = dg.AssetKey(["auth0", "user_identities"])
USER_METADATA = dg.AssetKey(["auth0", "user_metadata"])
LOGIN_EVENTS = dg.AssetKey(["auth0", "login_events"])
ROLES = dg.AssetKey(["auth0", "roles"])
USER_ROLES = dg.AssetKey(["auth0", "user_roles"])


def _spec(key: dg.AssetKey, description: str, deps: list) -> dg.AssetSpec:
    return dg.AssetSpec(key, description=description, deps=deps, group_name=GROUP, kinds=KINDS, owners=OWNERS)


def _table_asset(key: dg.AssetKey, description: str, deps: list):
    return dg.asset(key=key, description=description, deps=deps, group_name=GROUP, kinds=KINDS, owners=OWNERS,
                    partitions_def=tenant_partitions)


def _staged(con, stream: str):
    extraction = read_extraction(con, stream)
    if extraction is None:
        raise dg.Failure(
            f"Nothing staged for {stream}: materialize auth0_staging/{stream} first (the auth0_sync job does both).",
            allow_retries=False,
        )
    return extraction


def _require_roles_exist(con, roles: tuple[str, ...]) -> None:
    """A role filter naming no existing role would mark every user filtered out: fail instead."""
    known = {name for (name,) in con.execute("SELECT name FROM auth0.roles").fetchall()}
    unknown = [role for role in roles if role.lower() not in {name.lower() for name in known}]
    if unknown:
        raise dg.Failure(
            f"BRIDGED_USER_FILTER names roles that do not exist in the tenant: {', '.join(unknown)}. "
            f"Fix: use role names from Auth0 Dashboard → User Management → Roles (this tenant has: "
            f"{', '.join(sorted(known)) or 'no roles'}); the warehouse was left unchanged.",
            allow_retries=False,
        )


@dg.multi_asset(
    specs=[
        _spec(
            USERS,
            "One row per Auth0 user: typed profile, metadata JSON, deleted_at (sdu event or absent from a full "
            "snapshot) and filtered_out_at (outside BRIDGED_USER_FILTER).",
            # login_events: sdu events mark deletions; user_roles: the role filter reads memberships.
            [STAGED_USERS, LOGIN_EVENTS, USER_ROLES],
        ),
        _spec(USER_IDENTITIES, "One row per entry of each user's identities array (IdP tokens never stored).", [STAGED_USERS]),
    ],
    partitions_def=tenant_partitions,
)
def users_tables(context: dg.AssetExecutionContext, tenant: TenantResource):
    sync = tenant.settings
    user_filter = sync.user_filter
    synced_at = datetime.now(timezone.utc)
    with open_warehouse(tenant.warehouse) as con:
        extraction = _staged(con, "users")
        if user_filter.kind == "role":
            _require_roles_exist(con, user_filter.roles)
        previous = read_state(con, "users")
        full = extraction.mode == "full"
        cursor = extraction.high_water if full else max(filter(None, [previous.cursor, extraction.high_water]), default=None)
        state = StreamState(
            cursor=cursor,
            details={
                "include_metadata": extraction.details.get("include_metadata", sync.include_metadata),
                "last_full_at": synced_at.isoformat() if full else previous.details.get("last_full_at"),
            },
        )
        run_load(
            con,
            "loads/users.sql",
            synced_at=synced_at,
            variables={
                "full_snapshot": full,
                "user_filter": user_filter.kind,
                "active_days": sync.active_days,
                "filter_roles": [role.lower() for role in user_filter.roles],
            },
            also=lambda c: write_state(c, "users", state),
        )
        yield dg.MaterializeResult(
            asset_key=USERS,
            metadata={
                **table_metadata(con, "auth0.users", "updated_at DESC"),
                "staged_records": extraction.records,
                "extraction_mode": extraction.mode,
                "deleted_users": con.execute("SELECT count(*) FROM auth0.users WHERE deleted_at IS NOT NULL").fetchone()[0],
                "filtered_out_users": con.execute("SELECT count(*) FROM auth0.users WHERE filtered_out_at IS NOT NULL").fetchone()[0],
                "cursor_updated_at": cursor or "",
                "user_filter": str(user_filter),
            },
        )
        yield dg.MaterializeResult(asset_key=USER_IDENTITIES, metadata=table_metadata(con, "auth0.user_identities", "user_id"))


@_table_asset(
    USER_METADATA,
    "One row per top-level key of each user's user_metadata and app_metadata (value as JSON). "
    "Empty when BRIDGED_INCLUDE_METADATA=no.",
    deps=[USERS],
)
def user_metadata_table(tenant: TenantResource) -> dg.MaterializeResult:
    with open_warehouse(tenant.warehouse) as con:
        run_load(con, "loads/user_metadata.sql", synced_at=datetime.now(timezone.utc))
        return dg.MaterializeResult(metadata=table_metadata(con, "auth0.user_metadata", "user_id, source, key"))


@_table_asset(
    LOGIN_EVENTS,
    "One row per Auth0 tenant log event (every type, unknown ones kept) with its category; "
    "the log_id cursor is committed with the rows.",
    deps=[STAGED_LOGIN_EVENTS],
)
def login_events_table(tenant: TenantResource) -> dg.MaterializeResult:
    with open_warehouse(tenant.warehouse) as con:
        extraction = _staged(con, "login_events")
        previous = read_state(con, "login_events")
        cursor = max(filter(None, [previous.cursor, extraction.high_water]), default=None)
        gap = extraction.details.get("retention_gap")
        state = StreamState(cursor=cursor, details={"retention_gap": gap} if gap else {})
        run_load(
            con, "loads/login_events.sql", synced_at=datetime.now(timezone.utc),
            also=lambda c: write_state(c, "login_events", state),
        )
        return dg.MaterializeResult(
            metadata={
                **table_metadata(con, "auth0.login_events", "log_id DESC"),
                "staged_records": extraction.records,
                "cursor_log_id": cursor or "",
            }
        )


@dg.multi_asset(
    specs=[
        _spec(ROLES, "One row per Auth0 role.", [STAGED_ROLES]),
        _spec(USER_ROLES, "One row per (user, role) membership, with the role's name.", [STAGED_ROLES]),
    ],
    partitions_def=tenant_partitions,
)
def roles_tables(tenant: TenantResource):
    with open_warehouse(tenant.warehouse) as con:
        extraction = _staged(con, "roles")
        state = StreamState(cursor=extraction.high_water, details={"refreshed_at": extraction.details.get("refreshed_at")})
        run_load(
            con, "loads/roles.sql", synced_at=datetime.now(timezone.utc),
            also=lambda c: write_state(c, "roles", state),
        )
        yield dg.MaterializeResult(asset_key=ROLES, metadata=table_metadata(con, "auth0.roles", "name"))
        yield dg.MaterializeResult(asset_key=USER_ROLES, metadata=table_metadata(con, "auth0.user_roles", "user_id, role_name"))
