"""Warehouse table assets: auth0_staging → typed auth0.* tables, all of a run's loads in ONE transaction.

Playbooks and analysts read between runs. With a transaction per table, a reader after a killed
run saw a half-applied one: memberships of users not yet in auth0.users (up to 7,930 at 10k
users), metadata stale or empty beside new users. One step, one transaction: readers see the
previous run or this one, never a mix; a killed step leaves the previous run, whole.
"""

from datetime import datetime, timezone

import dagster as dg

from bridged_auth0_pipeline.extraction.login_events import ALL_EVENTS, USER_DELETIONS
from bridged_auth0_pipeline.extraction.users import cursor_after_full_snapshot
from bridged_auth0_pipeline.extraction.assets import (STAGED_CONNECTIONS, STAGED_LOGIN_EVENTS, STAGED_ORGANIZATIONS,
                                                      STAGED_ROLES, STAGED_USERS)
from bridged_auth0_pipeline.warehouse.organizations import (CLIENTS, CONNECTIONS, DESCRIPTIONS, ORGANIZATION_MEMBER_ROLES,
                                                            ORGANIZATION_MEMBERS, ORGANIZATIONS, load_connections,
                                                            load_organizations)
from bridged_auth0_pipeline.config.assets import OWNERS, WAREHOUSE_GROUP, WAREHOUSE_KINDS
from bridged_auth0_pipeline.config.resources import TenantResource, tenant_partitions
from bridged_auth0_pipeline.config.tenants import Tenant
from bridged_auth0_pipeline.store.database import open_warehouse
from bridged_auth0_pipeline.store.loads import execute_load
from bridged_auth0_pipeline.warehouse.metadata import table_definition, table_metadata
from bridged_auth0_pipeline.store.state import StreamState, read_state, write_state
from bridged_auth0_pipeline.store.transaction import transaction
from bridged_auth0_pipeline.warehouse.seed_assets import LOG_EVENT_TYPES
from bridged_auth0_pipeline.warehouse.staged import load_member_lists, staged

USERS = dg.AssetKey(["auth0", "users"])
USER_IDENTITIES = dg.AssetKey(["auth0", "user_identities"])
USER_METADATA = dg.AssetKey(["auth0", "user_metadata"])
LOGIN_EVENTS = dg.AssetKey(["auth0", "login_events"])
ROLES = dg.AssetKey(["auth0", "roles"])
USER_ROLES = dg.AssetKey(["auth0", "user_roles"])
ORGANIZATION_TABLES = (ORGANIZATIONS, ORGANIZATION_MEMBERS, ORGANIZATION_MEMBER_ROLES)
# auth0._sync_state's row naming the data objects the last run with users synced, each by a table it loads.
SYNCED_DATA_OBJECTS = "data_objects"
DATA_OBJECT_TABLES = {"users": USERS, "user_metadata": USER_METADATA, "logins": LOGIN_EVENTS,
                      "organizations": ORGANIZATIONS}


def _spec(key: dg.AssetKey, description: str, deps: list) -> dg.AssetSpec:
    return dg.AssetSpec(key, description=description, deps=deps, group_name=WAREHOUSE_GROUP, kinds=WAREHOUSE_KINDS, owners=OWNERS,
                        metadata=table_definition(".".join(key.path)), skippable=True)


def _require_roles_exist(con, roles: tuple[str, ...], setting: str) -> None:
    """A role filter naming no existing role would mark every user filtered out: fail instead.
    `setting`: where the filter is set (Tenant.setting)."""
    known = {name for (name,) in con.execute("SELECT name FROM auth0.roles").fetchall()}
    unknown = [role for role in roles if role.lower() not in {name.lower() for name in known}]
    if unknown:
        raise dg.Failure(
            f"{setting} names roles that do not exist in the tenant: {', '.join(unknown)}. "
            f"Fix: use role names from Auth0 Dashboard → User Management → Roles (this tenant has: "
            f"{', '.join(sorted(known)) or 'no roles'}); the warehouse was left unchanged.",
            allow_retries=False,
        )


def _load_roles(con, synced_at: datetime) -> dict[dg.AssetKey, dict]:
    return load_member_lists(con, "roles", synced_at, {
        ROLES: ("auth0.roles", "name"), USER_ROLES: ("auth0.user_roles", "user_id, role_name")})


def _load_login_events(con, synced_at: datetime) -> dict[dg.AssetKey, dict]:
    extraction = staged(con, "login_events")
    previous = read_state(con, "login_events")
    mode = extraction.details.get("mode", ALL_EVENTS)
    restarted = extraction.details.get("restarted", False)
    # A cursor from reading deletions only is not where reading every event resumes (the extraction
    # started over from the oldest retained event).
    kept_cursor = previous.cursor if not (mode == ALL_EVENTS and previous.details.get("mode") == USER_DELETIONS) else None
    cursor = max(filter(None, [kept_cursor, extraction.high_water]), default=None)
    gap = extraction.details.get("retention_gap")
    before = con.execute("SELECT count(*) FROM auth0.login_events").fetchone()[0]
    execute_load(con, "loads/login_events.sql", synced_at=synced_at,
                 variables={"user_deletions_only": mode == USER_DELETIONS})
    details = {"mode": mode}
    # Since when every deletion is in the log read: the users planner takes a full snapshot when its
    # last one is older (extraction/users.py). Kept while the log is followed without a break.
    if following_since := synced_at.isoformat() if restarted else previous.details.get("following_since"):
        details["following_since"] = following_since
    if gap:
        details["retention_gap"] = gap
    if skipped := extraction.details.get("skipped_for_missing_scope"):
        details["skipped_for_missing_scope"] = skipped
    write_state(con, "login_events", StreamState(cursor=cursor, details=details))
    table = table_metadata(con, "auth0.login_events", "log_id DESC")
    return {LOGIN_EVENTS: {
        **table,
        "mode": mode,
        "login_events_added": table["dagster/row_count"] - before,  # events are never deleted
        "staged_records": extraction.records,
        "cursor_log_id": cursor or "",
    }}


def _load_users(con, tenant: Tenant, synced_at: datetime) -> dict[dg.AssetKey, dict]:
    sync = tenant.settings
    user_filter = sync.user_filter
    extraction = staged(con, "users")
    if user_filter.kind == "role":
        _require_roles_exist(con, user_filter.roles, tenant.setting("--user-filter", "BRIDGED_USER_FILTER"))
    previous = read_state(con, "users")
    full = extraction.mode == "full"
    cursor = (cursor_after_full_snapshot(extraction.high_water, extraction.details.get("export_created_at")) if full
              else max(filter(None, [previous.cursor, extraction.high_water]), default=None))
    execute_load(con, "loads/users.sql", synced_at=synced_at, variables={
        "full_snapshot": full,
        "user_filter": user_filter.kind,
        "active_days": sync.active_days,
        "filter_roles": [role.lower() for role in user_filter.roles],
    })
    write_state(con, "users", StreamState(cursor=cursor, details={
        "include_metadata": extraction.details.get("include_metadata", sync.include_metadata),
        "last_full_at": synced_at.isoformat() if full else previous.details.get("last_full_at"),
    }))
    return {
        USERS: {
            **table_metadata(con, "auth0.users", "updated_at DESC"),
            "staged_records": extraction.records,
            "extraction_mode": extraction.mode,
            # This run's changes, recorded by loads/users.sql; plotted over runs in the UI.
            **{name: con.execute(f"SELECT getvariable('{name}')").fetchone()[0]
               for name in ("users_total", "users_new", "users_updated", "users_deleted")},
            "deleted_users": con.execute("SELECT count(*) FROM auth0.users WHERE deleted_at IS NOT NULL").fetchone()[0],
            "filtered_out_users": con.execute("SELECT count(*) FROM auth0.users WHERE filtered_out_at IS NOT NULL").fetchone()[0],
            "cursor_updated_at": cursor or "",
            "user_filter": str(user_filter),
        },
        USER_IDENTITIES: table_metadata(con, "auth0.user_identities", "user_id"),
    }


def _load_user_metadata(con, synced_at: datetime, include_metadata: bool) -> dict[dg.AssetKey, dict]:
    execute_load(con, "loads/user_metadata.sql", synced_at=synced_at, variables={"include_metadata": include_metadata})
    return {USER_METADATA: table_metadata(con, "auth0.user_metadata", "user_id, source, key")}


@dg.multi_asset(
    specs=[
        _spec(ROLES, "One row per Auth0 role.", [STAGED_ROLES]),
        _spec(USER_ROLES, "One row per (user, role) membership, with the role's name.", [STAGED_ROLES]),
        _spec(
            LOGIN_EVENTS,
            "One row per Auth0 tenant log event (every type, unknown ones kept) with its category; "
            "the log_id cursor is committed with the rows. While the data object logins is off (users on), "
            "only user deletions (category user_deleted) are added.",
            [STAGED_LOGIN_EVENTS, LOG_EVENT_TYPES],  # the event type's category comes from the seed
        ),
        _spec(
            USERS,
            "One row per Auth0 user: typed profile, metadata JSON, deleted_at (sdu event or absent from a full "
            "snapshot) and filtered_out_at (outside BRIDGED_USER_FILTER).",
            # login_events: sdu events mark deletions; user_roles: the role filter reads memberships.
            [STAGED_USERS, LOGIN_EVENTS, USER_ROLES],
        ),
        _spec(USER_IDENTITIES, "One row per entry of each user's identities array (IdP tokens never stored).", [STAGED_USERS]),
        _spec(
            USER_METADATA,
            "One row per top-level key of each user's user_metadata and app_metadata (value as JSON). "
            "Empty when BRIDGED_INCLUDE_METADATA=no.",
            [USERS],
        ),
        *(_spec(key, DESCRIPTIONS[key], [STAGED_ORGANIZATIONS]) for key in ORGANIZATION_TABLES),
        *(_spec(key, DESCRIPTIONS[key], [STAGED_CONNECTIONS]) for key in (CONNECTIONS, CLIENTS)),
    ],
    can_subset=True,
    partitions_def=tenant_partitions,
)
def warehouse_tables(context: dg.AssetExecutionContext, tenant: TenantResource):
    """Every selected load, in lineage order (roles and log events before the users that read them),
    with every cursor, in one transaction; materializations are reported once it has committed."""
    selected = context.selected_asset_keys
    synced_at = datetime.now(timezone.utc)
    metadata: dict[dg.AssetKey, dict] = {}
    with open_warehouse(tenant.warehouse) as con:
        with transaction(con):
            if selected & {ROLES, USER_ROLES}:
                metadata |= _load_roles(con, synced_at)
            if LOGIN_EVENTS in selected:
                metadata |= _load_login_events(con, synced_at)
            if selected & {USERS, USER_IDENTITIES}:
                metadata |= _load_users(con, tenant.tenant, synced_at)
            include_metadata = tenant.settings.include_metadata
            # include_metadata=no stores no metadata: the key table is emptied even in a run that does
            # not select it (data object user_metadata off), or playbooks would score stale metadata.
            if USER_METADATA in selected or (selected & {USERS, USER_IDENTITIES} and not include_metadata):
                metadata |= _load_user_metadata(con, synced_at, include_metadata)
            if selected & set(ORGANIZATION_TABLES):
                metadata |= load_organizations(con, synced_at)
            if selected & {CONNECTIONS, CLIENTS}:
                metadata |= load_connections(con, synced_at)
            if USERS in selected:
                # The data objects this run brought up to date: a view reads a data object's tables only
                # while it is synced (rows kept from before it was turned off are not current).
                # (auth0.login_events is loaded for users too, with only deletions unless logins is synced.)
                write_state(con, SYNCED_DATA_OBJECTS, StreamState(details={"data_objects": [
                    name for name, key in DATA_OBJECT_TABLES.items()
                    if key in selected and (name != "logins" or "logins" in tenant.settings.data_objects)]}))
    for key in (ROLES, USER_ROLES, LOGIN_EVENTS, USERS, USER_IDENTITIES, USER_METADATA, *ORGANIZATION_TABLES, CONNECTIONS, CLIENTS):
        if key in selected and key in metadata:
            yield dg.MaterializeResult(asset_key=key, metadata=metadata[key])
