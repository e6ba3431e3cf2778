"""Extract organizations with their members and member roles, and the tenant's connections and clients.

Connections and clients name what log events mention only by id or name. They are read every run
when the application has read:connections / read:clients; without a scope the stream warns once
and goes on (a naming table never fails the users sync), and the stored rows stay.

Organizations (data object `organizations`) are listed every run. Member lists cost a request per
100 members per organization, in the organizations bucket (Essentials: 5 burst / 50 per minute),
so like role members they are re-read only when something may have changed them: first sync, a
changed organization list, a `sapi` on /api/v2/organizations/... or a user deletion (a type the
seed log_event_types.csv classifies `user_deleted`: `sdu`) in the log since the last refresh, login
events not synced, a users full snapshot in this run (for whatever reason the users planner takes
one: its deletions then show in the memberships the same run), and at least every
BRIDGED_FULL_SYNC_EVERY_DAYS. Otherwise the stored memberships are carried forward.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from bridged_auth0_pipeline.auth0.errors import Auth0ScopeError
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.extraction.common import request_metadata
from bridged_auth0_pipeline.extraction.member_lists import MemberLists, extract_member_lists, membership_changes_since
from bridged_auth0_pipeline.extraction.progress import StreamProgress
from bridged_auth0_pipeline.extraction.users import plan_users
from bridged_auth0_pipeline.store.staging import extraction_transaction, stage_records
from bridged_auth0_pipeline.store.state import StreamState

CONNECTIONS_DESCRIPTION = "Auth0 connections (with their enabled clients) and applications as of this run, credentials removed."
ORGANIZATIONS_DESCRIPTION = ("Auth0 organizations, their member user_ids and the members' roles in each "
                             "(members re-read only when the log shows a change).")

# The sapi paths that change memberships or member roles: those under /api/v2/organizations
# (…/{id}/members, …/{id}/members/{user_id}/roles), and account linking (…/users/{id}/identities):
# the linked-away user is removed from its organizations, with no event of its own.
ORGANIZATION_CHANGE_PATHS = "/organizations|/identities"


def extract_connections(log, client, con: duckdb.DuckDBPyConnection, progress: StreamProgress | None = None) -> dict:
    """Stage connections and clients; a missing scope skips that listing with one warning."""
    progress = progress or StreamProgress("connections")
    before = client.stats.management_requests_of_this_stream()
    skipped: dict[str, str] = {}
    counts: dict[str, int] = {}
    with extraction_transaction(con, "connections", "full") as extraction:
        con.execute("DELETE FROM auth0_staging.clients")
        for stream, records in (("connections", client.connections), ("clients", client.clients)):
            staged = extraction.records
            try:
                stage_records(con, stream, progress.records_of(records(), stream), extraction)
            except Auth0ScopeError as exc:
                skipped[stream] = exc.scope
                con.execute(f"DELETE FROM auth0_staging.{stream}")
                log.warning(f"auth0.{stream} not refreshed: the application lacks {exc.scope}. Fix: grant {exc.scope} "
                            "to the application (Auth0 Dashboard → Applications → APIs → Auth0 Management API → "
                            "Machine to Machine Applications); the rest of the sync goes on.")
            counts[stream] = extraction.records - staged
        extraction.details = {"skipped": skipped}
    return {"connections": counts["connections"], "clients": counts["clients"],
            "skipped_for_missing_scope": ", ".join(f"{k} ({v})" for k, v in skipped.items()) or "none",
            **request_metadata(client, before)}


def plan_member_refresh(con, state: StreamState, orgs: list[dict], sync: SyncSettings, now: datetime,
                        wait_for_login_events=lambda: None) -> str | None:
    """Why member lists must be re-read, or None when the stored ones are still right."""
    if state.details.get("refreshed_at") is None:
        return "first sync"
    if "logins" not in sync.data_objects:
        return "login events are not synced (BRIDGED_DATA_OBJECTS), so organization changes cannot be seen"
    stored = set(con.execute("SELECT org_id FROM auth0.organizations WHERE deleted_at IS NULL").fetchall())
    if stored != {(o["id"],) for o in orgs}:
        return "the organization list changed"
    if now - datetime.fromisoformat(state.details["refreshed_at"]) >= timedelta(days=sync.full_sync_every_days):
        return f"periodic refresh (every {sync.full_sync_every_days} days)"
    if "users" in sync.data_objects:
        # The users stream's own rule, on the same states: they are written by the warehouse load,
        # after this run's extraction, so both streams read the previous run's and decide alike.
        users_mode, _, users_why = plan_users(con, sync, now)
        if users_mode == "full":
            return f"the users full snapshot of this run ({users_why})"
    wait_for_login_events()
    changes = membership_changes_since(con, state.cursor, ORGANIZATION_CHANGE_PATHS)
    if changes:
        return f"{changes} organization changes or user deletions in the log since the last refresh"
    return None


def _stage_members(con, pages) -> None:
    members, roles = [], []
    for org_id, page in pages:
        for member in page:
            if member.get("user_id"):
                members.append((org_id, member["user_id"]))
                roles += [(org_id, member["user_id"], r["id"]) for r in member.get("roles") or () if r.get("id")]
    for table, rows in (("organization_members", members), ("organization_member_roles", roles)):
        if rows:
            columns = list(zip(*rows))
            placeholders = ", ".join("unnest(?::VARCHAR[])" for _ in columns)
            con.execute(f"INSERT INTO auth0_staging.{table} SELECT {placeholders}", [list(c) for c in columns])


def _reread_members(con: duckdb.DuckDBPyConnection, client, orgs: list[dict], progress: StreamProgress) -> None:
    _stage_members(con, progress.keyed_pages_of(client.members_of_organizations([o["id"] for o in orgs]), "members"))


def _keep_members(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO auth0_staging.organization_members SELECT org_id, user_id FROM auth0.organization_members")
    con.execute("INSERT INTO auth0_staging.organization_member_roles "
                "SELECT org_id, user_id, role_id FROM auth0.organization_member_roles")


ORGANIZATION_MEMBERS = MemberLists("organizations", "Organization members", "auth0_staging.organization_members",
                                   lambda client: client.organizations(), plan_member_refresh, _reread_members,
                                   _keep_members)


def extract_organizations(log, client, con: duckdb.DuckDBPyConnection, sync: SyncSettings, wait_for_login_events,
                          progress: StreamProgress | None = None) -> dict:
    """Stage organizations, members and member roles (extraction/member_lists.py); like roles, the
    memberships are current as of a log position (high_water) that the next run's check starts from."""
    return extract_member_lists(ORGANIZATION_MEMBERS, log, client, con, sync, wait_for_login_events,
                                progress or StreamProgress("organizations"))
