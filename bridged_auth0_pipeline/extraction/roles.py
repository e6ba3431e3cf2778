"""Extract roles and their members.

The role list is one request and is read every run. Member lists cost a request per 100 members
per role, so they are re-read only when something may have changed them: on the first sync, when
the role list changed, when the log shows a Management API write touching roles (a `sapi` event
on a /roles or an account-linking /identities path) or a user deletion (`sdu`) since the last
refresh, when login events are not synced (nothing to tell), and at least every
BRIDGED_FULL_SYNC_EVERY_DAYS. Otherwise the stored memberships are carried forward unchanged.
"""

from datetime import datetime, timedelta, timezone

import duckdb

from bridged_auth0_pipeline.extraction.common import LogWait, memberships_log_position, request_metadata
from bridged_auth0_pipeline.extraction.progress import StreamProgress
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.warehouse.store.staging import extraction_transaction, stage_records, stage_role_members
from bridged_auth0_pipeline.warehouse.store.state import StreamState, read_state

ROLE_CHANGES_SINCE = """
    SELECT count(*), max(log_id) FROM (
        SELECT log_id, try_cast(raw AS JSON) AS j FROM auth0_staging.login_events
        UNION ALL
        SELECT log_id, raw FROM auth0.login_events WHERE log_id > coalesce($after, '')
    )
    WHERE log_id > coalesce($after, '')
      AND (j->>'type' = 'sdu'
           OR (j->>'type' = 'sapi' AND regexp_matches(coalesce(j->'details'->'request'->>'path', '/roles'),
                                                      '/roles|/identities')))
"""
# The sapi paths that change memberships: /api/v2/users/{id}/roles and /api/v2/roles/{id}/users grant or
# revoke; /api/v2/users/{id}/identities links (the secondary account and its memberships disappear, with
# no sdu event) or unlinks. A sapi event without a path counts, to be safe.


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
    changes, _ = con.execute(ROLE_CHANGES_SINCE, {"after": state.cursor}).fetchone()
    if changes:
        return f"{changes} role assignments or user deletions in the log since the last refresh"
    return None


DESCRIPTION = "Auth0 roles and their member user_ids as of this run (members re-read only when the log shows a change)."


def extract_roles(log, client, con, sync: SyncSettings, wait_for_login_events, progress: StreamProgress | None = None) -> dict:
    """Stage roles and members; returns the asset's metadata. `con` is this thread's own connection.

    `wait_for_login_events()` blocks until this run's log events are staged (or raises if that failed):
    only the last check of plan_member_refresh needs them, so a first sync does not wait.
    """
    progress = progress or StreamProgress("roles")
    before = client.stats.management_requests_of_this_stream()
    now = datetime.now(timezone.utc)
    roles = list(progress.records_of(client.roles(), "roles"))
    state = read_state(con, "roles")
    wait_for_logs = LogWait(wait_for_login_events, progress)
    reason = plan_member_refresh(con, state, roles, sync, now, wait_for_logs)
    # Members re-read before this run's log events were staged (first sync, periodic refresh, new role
    # list) are current only as of the re-read's start; otherwise as of every event staged.
    reread_ahead_of_logs = bool(reason) and not wait_for_logs.done
    log.info(f"Role members: {'re-read, ' + reason if reason else 'unchanged since the last refresh'}")
    with extraction_transaction(con, "roles", "full" if reason else "incremental") as extraction:
        stage_records(con, "roles", roles, extraction)
        if reason:  # may run while this run's log events are still being fetched
            pages = progress.keyed_pages_of(client.members_of_roles([role["id"] for role in roles]), "members")
            stage_role_members(con, ((role_id, m["user_id"]) for role_id, page in pages for m in page if m.get("user_id")))
        else:
            con.execute("INSERT INTO auth0_staging.role_members SELECT role_id, user_id FROM auth0.user_roles")
        members = con.execute("SELECT count(*) FROM auth0_staging.role_members").fetchone()[0]
        wait_for_logs()
        as_of_log_id = memberships_log_position(con, reread_ahead_of_logs, now, state.cursor)
        extraction.api_total = len(roles)
        extraction.high_water = as_of_log_id
        extraction.details = {
            "memberships": members,
            "refreshed_at": now.isoformat() if reason else state.details.get("refreshed_at"),
            "reason": reason,
        }
    return {
        "dagster/row_count": len(roles),
        "memberships": members,
        "members_reread": reason or "no (unchanged)",
        **request_metadata(client, before),
    }
