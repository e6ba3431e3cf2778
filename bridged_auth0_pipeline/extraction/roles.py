"""Extract roles and their members.

The role list is one request and is read every run. Member lists cost a request per 100 members
per role, so they are re-read only when something may have changed them: on the first sync, when
the role list changed, when the log shows a Management API write touching roles (a `sapi` event
on a /roles or an account-linking /identities path) or a user deletion (a type the seed
log_event_types.csv classifies `user_deleted`: `sdu`) since the last refresh, when login events are
not synced (nothing to tell), and at least every BRIDGED_FULL_SYNC_EVERY_DAYS. Otherwise the
stored memberships are carried forward unchanged.
"""

from datetime import datetime, timedelta

import duckdb

from bridged_auth0_pipeline.extraction.member_lists import MemberLists, extract_member_lists, membership_changes_since
from bridged_auth0_pipeline.extraction.progress import StreamProgress
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.store.staging import stage_role_members
from bridged_auth0_pipeline.store.state import StreamState

# The sapi paths that change memberships: /api/v2/users/{id}/roles and /api/v2/roles/{id}/users grant or
# revoke; /api/v2/users/{id}/identities links (the secondary account and its memberships disappear, with
# no sdu event) or unlinks.
ROLE_CHANGE_PATHS = "/roles|/identities"


def plan_member_refresh(
    con: duckdb.DuckDBPyConnection, state: StreamState, roles: list[dict], sync: SyncSettings, now: datetime,
    wait_for_login_events=lambda: None,
) -> str | None:
    """Why member lists must be re-read, or None when the stored ones are still right."""
    if state.details.get("refreshed_at") is None:
        return "first sync"
    if "logins" not in sync.data_objects:
        return "login events are not synced (BRIDGED_DATA_OBJECTS), so role changes cannot be seen"
    if set(con.execute("SELECT id, name FROM auth0.roles").fetchall()) != {(r["id"], r["name"]) for r in roles}:
        return "the role list changed"
    if now - datetime.fromisoformat(state.details["refreshed_at"]) >= timedelta(days=sync.full_sync_every_days):
        return f"periodic refresh (every {sync.full_sync_every_days} days)"
    wait_for_login_events()
    changes = membership_changes_since(con, state.cursor, ROLE_CHANGE_PATHS)
    if changes:
        return f"{changes} role assignments or user deletions in the log since the last refresh"
    return None


DESCRIPTION = "Auth0 roles and their member user_ids as of this run (members re-read only when the log shows a change)."


def _reread_members(con: duckdb.DuckDBPyConnection, client, roles: list[dict], progress: StreamProgress) -> None:
    pages = progress.keyed_pages_of(client.members_of_roles([role["id"] for role in roles]), "members")
    stage_role_members(con, ((role_id, m["user_id"]) for role_id, page in pages for m in page if m.get("user_id")))


def _keep_members(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO auth0_staging.role_members SELECT role_id, user_id FROM auth0.user_roles")


ROLE_MEMBERS = MemberLists("roles", "Role members", "auth0_staging.role_members", lambda client: client.roles(),
                           plan_member_refresh, _reread_members, _keep_members)


def extract_roles(log, client, con, sync: SyncSettings, wait_for_login_events, progress: StreamProgress | None = None) -> dict:
    """Stage roles and members (extraction/member_lists.py); returns the asset's metadata."""
    return extract_member_lists(ROLE_MEMBERS, log, client, con, sync, wait_for_login_events,
                                progress or StreamProgress("roles"))
