"""Asset checks on the warehouse tables: keys unique, references intact, counts matching what the API
reported, no log history lost to retention, no rejected records. (The views' checks run with the
views, views/assets.py.)"""

import json
from datetime import datetime, timedelta, timezone

import dagster as dg

from bridged_auth0_pipeline.extraction.login_events import USER_DELETIONS
from bridged_auth0_pipeline.config.resources import TenantResource
from bridged_auth0_pipeline.config.tenants import Tenant
from bridged_auth0_pipeline.store.database import open_warehouse
from bridged_auth0_pipeline.warehouse.assets import LOGIN_EVENTS, ROLES, USER_IDENTITIES, USER_METADATA, USER_ROLES, USERS

# (asset, check name, description, SQL counting the rows that violate it)
SQL_CHECKS = [
    (USERS, "unique_user_id", "user_id is unique.",
     "SELECT count(*) - count(DISTINCT user_id) FROM auth0.users"),
    (USER_IDENTITIES, "unique_identity", "(user_id, provider, identity_user_id) is unique.",
     "SELECT count(*) FROM (SELECT 1 FROM auth0.user_identities GROUP BY user_id, provider, identity_user_id HAVING count(*) > 1)"),
    (USER_IDENTITIES, "identities_reference_users", "Every identity belongs to a user in auth0.users.",
     "SELECT count(*) FROM auth0.user_identities i ANTI JOIN auth0.users u USING (user_id)"),
    (USER_METADATA, "unique_metadata_key", "(user_id, source, key) is unique.",
     "SELECT count(*) FROM (SELECT 1 FROM auth0.user_metadata GROUP BY user_id, source, key HAVING count(*) > 1)"),
    (USER_METADATA, "metadata_references_users", "Every metadata row belongs to a user in auth0.users.",
     "SELECT count(*) FROM auth0.user_metadata m ANTI JOIN auth0.users u USING (user_id)"),
    (ROLES, "unique_role_id", "Role id is unique.",
     "SELECT count(*) - count(DISTINCT id) FROM auth0.roles"),
    (USER_ROLES, "unique_membership", "(user_id, role_id) is unique.",
     "SELECT count(*) FROM (SELECT 1 FROM auth0.user_roles GROUP BY user_id, role_id HAVING count(*) > 1)"),
    # On users, not user_roles: roles load first (the role filter reads them), users right after.
    (USERS, "memberships_reference_users", "Every role membership belongs to a user in auth0.users.",
     "SELECT count(*) FROM auth0.user_roles r ANTI JOIN auth0.users u USING (user_id)"),
    (LOGIN_EVENTS, "unique_log_id", "log_id is unique.",
     "SELECT count(*) - count(DISTINCT log_id) FROM auth0.login_events"),
    (USERS, "staged_users_landed", "Every user the API returned in the last extraction is in auth0.users.",
     "SELECT count(*) FROM (SELECT DISTINCT user_id->>'$' AS user_id FROM auth0_staging.users WHERE raw IS NULL) s "
     "ANTI JOIN auth0.users u USING (user_id)"),
    (USERS, "full_snapshot_count_matches", "After a full snapshot, the live users equal the users the export returned (one with a rejected "
     "line deletes nobody, so it fails this until a whole snapshot).",
     """SELECT CASE WHEN (SELECT mode FROM auth0_staging.extractions WHERE stream = 'users') = 'full'
                    THEN abs((SELECT count(DISTINCT user_id->>'$') FROM auth0_staging.users WHERE raw IS NULL)
                             - (SELECT count(*) FROM auth0.users WHERE deleted_at IS NULL)) ELSE 0 END"""),
    (LOGIN_EVENTS, "staged_events_landed", "Every event the API returned in the last extraction is in auth0.login_events.",
     "SELECT count(*) FROM (SELECT DISTINCT log_id FROM auth0_staging.login_events WHERE log_id IS NOT NULL) s ANTI JOIN auth0.login_events e USING (log_id)"),
    (ROLES, "role_count_matches", "auth0.roles holds as many roles as the API listed.",
     "SELECT abs((SELECT coalesce(max(api_total), 0) FROM auth0_staging.extractions WHERE stream = 'roles') - (SELECT count(*) FROM auth0.roles))"),
]


# Not `blocking`: the checks share one step with the users checks, and users_tables reads
# login_events, so a blocking check here is a dependency cycle. warehouse_checks fails the run instead.
LOGIN_CURSOR_GAP = dg.AssetCheckSpec(
    "login_cursor_gap",
    asset=LOGIN_EVENTS,
    description="The log cursor never fell behind the tenant's log retention (a gap fails the run: sync more often "
    "than the plan's retention; while only user deletions are read, a gap warns and the next users run is a full "
    "snapshot).",
)
NO_REJECTED_RECORDS = dg.AssetCheckSpec(
    "no_rejected_records", asset=USERS, description="No record was rejected as untypeable in the last day."
)


def _login_cursor_gap(con) -> dg.AssetCheckResult:
    """Failed when this run's log extraction found its cursor past the tenant's retention, with what
    is known of the gap: from the cursor's event to the oldest retained one, in seconds. ERROR when
    login events are lost for good; WARN while the log is read for user deletions only, as the next
    users run's full snapshot (extraction/users.py) catches the deletions in the gap."""
    row = con.execute("SELECT details FROM auth0._sync_state WHERE stream = 'login_events'").fetchone()
    details = json.loads(row[0]) if row and row[0] else {}
    gap = details.get("retention_gap")
    if not gap:
        return dg.AssetCheckResult(asset_key=LOGIN_EVENTS, check_name=LOGIN_CURSOR_GAP.name, passed=True)
    size = f"{gap['gap']} ({gap['gap_seconds']} s)" if "gap_seconds" in gap else "unknown size"
    fix = ("Fix: sync more often than the tenant's log retention (Starter 1 day, Essentials 5, Professional 10, "
           "Enterprise 30)")
    if details.get("mode") == USER_DELETIONS:
        return dg.AssetCheckResult(
            asset_key=LOGIN_EVENTS, check_name=LOGIN_CURSOR_GAP.name, passed=False, severity=dg.AssetCheckSeverity.WARN,
            description=f"User deletions after the stored cursor {gap.get('cursor')} and before the oldest retained "
            f"event {gap.get('oldest_available_log_id')} ({size}) were not read: users deleted then stay live until "
            f"the next run, whose users extraction is a full snapshot. {fix}.",
            metadata={key: str(value) for key, value in gap.items()},
        )
    return dg.AssetCheckResult(
        asset_key=LOGIN_EVENTS,
        check_name=LOGIN_CURSOR_GAP.name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"Log events after the stored cursor {gap.get('cursor')} and before the oldest retained event "
        f"{gap.get('oldest_available_log_id')} are lost, a gap of {size}. {fix}; the sync continued from "
        "the oldest retained event.",
        metadata={key: str(value) for key, value in gap.items()},
    )


def _no_rejected_records(con) -> dg.AssetCheckResult:
    rows = con.execute(
        "SELECT source, reason, count(*) FROM auth0._rejected WHERE rejected_at > now() - INTERVAL 1 DAY GROUP BY ALL"
    ).fetchall()
    return dg.AssetCheckResult(
        asset_key=USERS,
        check_name=NO_REJECTED_RECORDS.name,
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rejected": sum(count for *_, count in rows), **{f"{s}: {r}": c for s, r, c in rows}},
    )


MANAGEMENT_TOKEN_EXPIRY = dg.AssetCheckSpec(
    "management_token_expiry", asset=USERS,
    description="A pasted Management API token (connection method management_token) is valid for 7 more days.",
)
TOKEN_WARNING_AHEAD = timedelta(days=7)


def _management_token_expiry(tenant: Tenant) -> dg.AssetCheckResult:
    expires = tenant.token_expires_at
    left = expires - datetime.now(timezone.utc) if expires else None
    return dg.AssetCheckResult(
        asset_key=USERS,
        check_name=MANAGEMENT_TOKEN_EXPIRY.name,
        passed=left is None or left > TOKEN_WARNING_AHEAD,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if left is None or left > TOKEN_WARNING_AHEAD else (
            f"The Management API token expires at {expires.isoformat(timespec='seconds')}; syncs fail after that. "
            f"Fix: paste a new one with `bridged-auth0 connect {tenant.key} --method management_token`, or switch to "
            "client credentials (tokens renewed by the pipeline)."),
        metadata={"method": tenant.method, "token_expires_at": expires.isoformat() if expires else "n/a"},
    )


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset=asset, description=description) for asset, name, description, _ in SQL_CHECKS]
    + [LOGIN_CURSOR_GAP, NO_REJECTED_RECORDS, MANAGEMENT_TOKEN_EXPIRY],
    can_subset=True,
)
def warehouse_checks(context: dg.AssetCheckExecutionContext, tenant: TenantResource):
    """Every check in one step on one connection (a step per check cost ~0.1 s each, every run)."""
    selected = context.selected_asset_check_keys
    with open_warehouse(tenant.warehouse) as con:
        for asset, name, _, sql in SQL_CHECKS:
            if dg.AssetCheckKey(asset, name) in selected:
                violations = con.execute(sql).fetchone()[0]
                yield dg.AssetCheckResult(asset_key=asset, check_name=name, passed=violations == 0,
                                          metadata={"violations": violations})
        gap = _login_cursor_gap(con) if LOGIN_CURSOR_GAP.key in selected else None
        if gap is not None:
            yield gap
        if NO_REJECTED_RECORDS.key in selected:
            yield _no_rejected_records(con)
        if MANAGEMENT_TOKEN_EXPIRY.key in selected:
            yield _management_token_expiry(tenant.tenant)
    if gap is not None and not gap.passed and gap.severity == dg.AssetCheckSeverity.ERROR:  # every check is reported first
        raise dg.Failure(gap.description, allow_retries=False)
