"""The five views, end to end: a hand-made sandbox tenant → the real auth0_sync job over HTTP → DuckDB.

test_views_sql.py checks each view's SQL against rows inserted straight into the tables. This test
takes the path the data really takes: Auth0-shaped JSON from the sandbox (export job, log
checkpoints, incremental search), typed by the loads, then the views as the pipeline creates them.
The tenant is empty but for 19 users written for the rules of docs/data-dictionary.md, and each
view's complete row set is compared with rows written out by hand below.

Times are relative to the test's start and sit at least two hours away from every threshold
(`+2h` offsets), so a slow run cannot move a row across one. Sync 1 is a full snapshot; between
sync 1 and sync 2 one account is deleted in Auth0, so sync 2 (incremental) sees its `sdu` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query

_start = datetime.now(timezone.utc)
# Auth0 timestamps have millisecond precision; so do the expected ones
NOW = _start.replace(microsecond=_start.microsecond // 1000 * 1000)

DB = "Username-Password-Authentication"


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


# user ids
ANN = "google-oauth2|101000000000000000001"     # social primary + linked database; MFA in profile
JANE = "samlp|acme-saml|jane@acme.io"           # enterprise (SAML); MFA from an enrollment event
CARL = "auth0|c0ffee000000000000000003"         # database + linked Azure AD; enrolled then unenrolled
SAM = "sms|5f0000000000000000000004"            # passwordless SMS, phone only, never logged in
ERIN = "email|5f0000000000000000000005"         # passwordless email (magic link); re-enrolled MFA
GUS = "github|6000006"                          # social; signed up 5 days ago, never came back
HANA = "auth0|c0ffee000000000000000007"         # signed up 5 days ago and came back: engaged
IVAN = "auth0|c0ffee000000000000000008"         # signed up 20 days ago, never came back (not recent)
JUDY = "auth0|c0ffee000000000000000009"         # signed up 10 hours ago (too new to judge)
KIM = "auth0|c0ffee000000000000000010"          # unverified email + phone, never logged in
LEO = "auth0|c0ffee000000000000000011"          # blocked
NOBODY = "auth0|c0ffee000000000000000012"       # no email, no phone
DANA_DB = "auth0|c0ffee000000000000000013"      # dana@acme.io (a database email: lower case), verified
DANA_G = "google-oauth2|101400000000000000014"  # Dana@Acme.io, verified, blocked
DANA_GH = "github|1015"                         # DANA@acme.io, NOT verified
DANA_DEL = "auth0|c0ffee000000000000000016"     # dana@acme.io, verified, deleted before sync 2
OMAR = "auth0|c0ffee000000000000000017"         # omar@example.net, verified, never logged in
OMAR_G = "google-oauth2|101800000000000000018"  # Omar@Example.net, NOT verified
PIA = "auth0|c0ffee000000000000000019"          # dormant; profile last_login newer than any event

# named times used both to build the tenant and in the expected rows
ANN_DB_LOGIN = ago(days=1, hours=2)
JANE_LOGIN = ago(days=3, hours=2)
CARL_LAST_LOGIN = ago(days=45, hours=2)
ERIN_LOGIN = ago(days=10, hours=2)
GUS_CREATED, GUS_LOGIN = ago(days=5, hours=3), ago(days=5, hours=2)
HANA_CREATED, HANA_LOGIN = ago(days=5, hours=3), ago(days=3, hours=2)
IVAN_LOGIN = ago(days=20, hours=2)
JUDY_LOGIN = ago(hours=9)
DANA_DB_LAST_LOGIN = ago(days=40, hours=2)
OMAR_G_CREATED, OMAR_G_LOGIN = ago(days=3, hours=4), ago(days=3, hours=3)
PIA_LAST_LOGIN = ago(days=35, hours=2)


def identity(provider: str, user_id, connection: str, is_social: bool, **extra) -> dict:
    return {"provider": provider, "user_id": user_id, "connection": connection, "isSocial": is_social, **extra}


def database_identity(user_id: str) -> dict:
    return identity("auth0", user_id.split("|", 1)[1], DB, False)


def login(tenant: SandboxTenant, user_id: str, when: datetime, connection: str, type: str = "s", **fields) -> None:
    """A log event through `connection`, with its strategy as Auth0 writes it (overridable)."""
    conn = tenant.connections[connection]
    event = {"connection": conn["name"], "connection_id": conn["id"], "strategy": conn["strategy"],
             "strategy_type": conn["strategy_type"], **fields}
    tenant.add_log(type, user_id=user_id, date=when, **event)


def build_tenant() -> SandboxTenant:
    tenant = SandboxTenant(name="playbooks.auth0.test")
    # Auth0's passwordless email connection (the sandbox ships sms only)
    tenant.connections["email"] = {"id": "con_EmailMagicLink01", "name": "email", "strategy": "email",
                                   "strategy_type": "passwordless", "is_social": False}

    def user(user_id: str, identities: list[dict] | None = None, **profile) -> None:
        profile = {"user_id": user_id, "identities": identities or [database_identity(user_id)], **profile}
        tenant.add_user(profile)

    user(ANN, [identity("google-oauth2", ANN.split("|")[1], "google-oauth2", True),
               identity("auth0", "ann0000000000000000000001", DB, False,
                        profileData={"email": "ann@gmail.com", "email_verified": True})],
         email="ann@gmail.com", email_verified=True, name="Ann Linked", multifactor=["guardian"],
         created_at=ago(days=200), last_login=ago(days=2, hours=2), logins_count=40,
         app_metadata={"plan": "free"}, user_metadata={"theme": "dark"})
    login(tenant, ANN, ago(days=20, hours=2), "google-oauth2")
    login(tenant, ANN, ANN_DB_LOGIN, DB)                               # latest success: the database
    login(tenant, ANN, ago(hours=12), "google-oauth2", type="fp")      # a later failure is no login

    user(JANE, [identity("samlp", "acme-saml|jane@acme.io", "acme-saml", False)],
         email="jane@acme.io", email_verified=True, name="Jane Enterprise", created_at=ago(days=90),
         last_login=JANE_LOGIN, logins_count=5,
         app_metadata={"plan": {"name": "Enterprise", "id": "plan_9"}, "company_name": "Acme Inc"})
    tenant.add_log("gd_enrollment_complete", user_id=JANE, date=ago(days=10))
    # the event lacks strategy and strategy_type: both come from Jane's identity on acme-saml
    login(tenant, JANE, JANE_LOGIN, "acme-saml", strategy=None, strategy_type=None)

    user(CARL, [database_identity(CARL), identity("waad", "carl-oid-3", "contoso-waad", False)],
         email="carl@contoso.com", email_verified=False, name="Carl Database", created_at=ago(days=100),
         last_login=CARL_LAST_LOGIN, logins_count=12,
         user_metadata={"companyName": "Contoso"}, app_metadata={"plan": 42})
    tenant.add_log("gd_enrollment_complete", user_id=CARL, date=ago(days=30))
    tenant.add_log("gd_unenroll", user_id=CARL, date=ago(days=20))

    user(SAM, [identity("sms", SAM.split("|")[1], "sms", False)],
         phone_number="+15550000004", phone_verified=True, name="Sam Passwordless",
         created_at=ago(days=40), logins_count=0)
    tenant.add_log("gd_send_sms", user_id=SAM, date=ago(days=1))        # a code sent proves nothing

    user(ERIN, [identity("email", ERIN.split("|")[1], "email", False)],
         email="erin@outlook.com", email_verified=True, name="Erin Magic Link", created_at=ago(days=300),
         last_login=ERIN_LOGIN, logins_count=9, user_metadata={"plan": "pro"})
    login(tenant, ERIN, ago(days=100), "email")                         # outside the 90-day window
    login(tenant, ERIN, ago(days=12, hours=2), "email")
    login(tenant, ERIN, ERIN_LOGIN, "email")
    tenant.add_log("gd_unenroll", user_id=ERIN, date=ago(days=40))
    tenant.add_log("gd_auth_succeed", user_id=ERIN, date=ago(days=5))   # enrolled again since

    user(GUS, [identity("github", 6000006, "github", True)],               # GitHub sends a number
         email="gus@startup.dev", email_verified=True, name="Gus GitHub", created_at=GUS_CREATED,
         last_login=GUS_LOGIN, logins_count=1, app_metadata={"Plan": "  ", "subscription_plan": "Business"})
    login(tenant, GUS, GUS_LOGIN, "github")

    user(HANA, email="hana@yahoo.com", email_verified=True, phone_number="+447700900007",
         name="Hana Returned", created_at=HANA_CREATED, last_login=HANA_LOGIN, logins_count=2,
         app_metadata={"Company Name": "Hana Co"}, user_metadata={"company": "Ignored Co"})
    login(tenant, HANA, ago(days=5, hours=2), DB)
    login(tenant, HANA, HANA_LOGIN, DB)

    user(IVAN, email="ivan@example.com", email_verified=True, name="Ivan Old Signup",
         created_at=ago(days=20, hours=3), last_login=IVAN_LOGIN, logins_count=1)
    login(tenant, IVAN, IVAN_LOGIN, DB)

    user(JUDY, email="judy@gmail.com", email_verified=True, name="Judy Too New",
         created_at=ago(hours=10), last_login=JUDY_LOGIN, logins_count=1)
    login(tenant, JUDY, JUDY_LOGIN, DB)

    user(KIM, email="kim@example.org", email_verified=False, phone_number="+15550000010",
         name="Kim Unverified", created_at=ago(days=2), logins_count=0)
    user(LEO, email="leo@example.org", email_verified=False, blocked=True, name="Leo Blocked",
         created_at=ago(days=2), logins_count=0)
    user(NOBODY, username="nobody12", name="No Contact", created_at=ago(days=2), logins_count=0)

    user(DANA_DB, email="dana@acme.io", email_verified=True, name="Dana Database", created_at=ago(days=60),
         last_login=DANA_DB_LAST_LOGIN, logins_count=3, app_metadata={"plan": "trial"})
    user(DANA_G, [identity("google-oauth2", DANA_G.split("|")[1], "google-oauth2", True)],
         email="Dana@Acme.io", email_verified=True, blocked=True, name="Dana Google",
         created_at=ago(days=50), logins_count=0)
    user(DANA_GH, [identity("github", 1015, "github", True)],
         email="DANA@acme.io", email_verified=False, name="Dana GitHub", created_at=ago(days=50), logins_count=0)
    user(DANA_DEL, email="dana@acme.io", email_verified=True, name="Dana Deleted", created_at=ago(days=70),
         last_login=ago(days=1, hours=2), logins_count=8)
    login(tenant, DANA_DEL, ago(days=1, hours=2), DB)

    user(OMAR, email="omar@example.net", email_verified=True, name="Omar Verified", created_at=ago(days=8),
         logins_count=0)
    user(OMAR_G, [identity("google-oauth2", OMAR_G.split("|")[1], "google-oauth2", True)],
         email="Omar@Example.net", email_verified=False, name="Omar Google", created_at=OMAR_G_CREATED,
         last_login=OMAR_G_LOGIN, logins_count=1)
    login(tenant, OMAR_G, OMAR_G_LOGIN, "google-oauth2")

    user(PIA, [database_identity(PIA), identity("google-oauth2", "pia-g-19", "google-oauth2", True)],
         email="pia@example.com", email_verified=True, name="Pia Dormant", created_at=ago(days=400),
         last_login=PIA_LAST_LOGIN, logins_count=30)
    login(tenant, PIA, ago(days=60, hours=2), "google-oauth2")           # older than the profile's last_login
    login(tenant, PIA, ago(days=2, hours=2), DB, type="fp")              # struggling to get back in

    role = tenant.add_role("admin", "Tenant administrators")
    tenant.assign_role(role["id"], [ANN, JANE])
    return tenant


def view_rows(path, view: str) -> tuple[list[str], dict[str, tuple]]:
    """(column names, {user_id: the other columns}) of a view; fails on a duplicate user_id."""
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM {view}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    key = names.index("user_id")
    by_user = {row[key]: tuple(v for i, v in enumerate(row) if i != key) for row in rows}
    assert len(by_user) == len(rows), f"{view} has more than one row for a user_id"
    return names, by_user


# ------------------------------------------------------------------------------------------------
# Expected rows, written out by hand from the rules in docs/data-dictionary.md

SOC, ENT, DBT, PWL = "social", "enterprise", "database", "passwordless"
EVENT, PRIMARY = "login_event", "primary_identity"

USER_AUTH_METHODS_COLUMNS = [
    "user_id", "email", "email_verified", "primary_provider", "primary_connection", "primary_method_type",
    "linked_providers", "linked_method_types", "linked_identity_count", "mfa_enrolled", "last_login_at",
    "last_login_provider", "last_login_connection", "last_login_method_type", "last_login_method_source",
]
USER_AUTH_METHODS = {
    ANN: ("ann@gmail.com", True, "google-oauth2", "google-oauth2", SOC, ["auth0", "google-oauth2"], [DBT, SOC], 2,
          True, ANN_DB_LOGIN, "auth0", DB, DBT, EVENT),
    JANE: ("jane@acme.io", True, "samlp", "acme-saml", ENT, ["samlp"], [ENT], 1,
           True, JANE_LOGIN, "samlp", "acme-saml", ENT, EVENT),
    CARL: ("carl@contoso.com", False, "auth0", DB, DBT, ["auth0", "waad"], [DBT, ENT], 2,
           False, CARL_LAST_LOGIN, "auth0", DB, DBT, PRIMARY),
    SAM: (None, None, "sms", "sms", PWL, ["sms"], [PWL], 1,
          False, None, "sms", "sms", PWL, PRIMARY),
    ERIN: ("erin@outlook.com", True, "email", "email", PWL, ["email"], [PWL], 1,
           True, ERIN_LOGIN, "email", "email", PWL, EVENT),
    GUS: ("gus@startup.dev", True, "github", "github", SOC, ["github"], [SOC], 1,
          False, GUS_LOGIN, "github", "github", SOC, EVENT),
    HANA: ("hana@yahoo.com", True, "auth0", DB, DBT, ["auth0"], [DBT], 1,
           False, HANA_LOGIN, "auth0", DB, DBT, EVENT),
    IVAN: ("ivan@example.com", True, "auth0", DB, DBT, ["auth0"], [DBT], 1,
           False, IVAN_LOGIN, "auth0", DB, DBT, EVENT),
    JUDY: ("judy@gmail.com", True, "auth0", DB, DBT, ["auth0"], [DBT], 1,
           False, JUDY_LOGIN, "auth0", DB, DBT, EVENT),
    KIM: ("kim@example.org", False, "auth0", DB, DBT, ["auth0"], [DBT], 1,
          False, None, "auth0", DB, DBT, PRIMARY),
    LEO: ("leo@example.org", False, "auth0", DB, DBT, ["auth0"], [DBT], 1,
          False, None, "auth0", DB, DBT, PRIMARY),
    NOBODY: (None, None, "auth0", DB, DBT, ["auth0"], [DBT], 1,
             False, None, "auth0", DB, DBT, PRIMARY),
    DANA_DB: ("dana@acme.io", True, "auth0", DB, DBT, ["auth0"], [DBT], 1,
              False, DANA_DB_LAST_LOGIN, "auth0", DB, DBT, PRIMARY),
    DANA_G: ("Dana@Acme.io", True, "google-oauth2", "google-oauth2", SOC, ["google-oauth2"], [SOC], 1,
             False, None, "google-oauth2", "google-oauth2", SOC, PRIMARY),
    DANA_GH: ("DANA@acme.io", False, "github", "github", SOC, ["github"], [SOC], 1,
              False, None, "github", "github", SOC, PRIMARY),
    OMAR: ("omar@example.net", True, "auth0", DB, DBT, ["auth0"], [DBT], 1,
           False, None, "auth0", DB, DBT, PRIMARY),
    OMAR_G: ("Omar@Example.net", False, "google-oauth2", "google-oauth2", SOC, ["google-oauth2"], [SOC], 1,
             False, OMAR_G_LOGIN, "google-oauth2", "google-oauth2", SOC, EVENT),
    # the profile's last_login is newer than the synced events; the method still comes from the event
    PIA: ("pia@example.com", True, "auth0", DB, DBT, ["auth0", "google-oauth2"], [DBT, SOC], 2,
          False, PIA_LAST_LOGIN, "google-oauth2", "google-oauth2", SOC, EVENT),
}

ACCOUNT_LINK_CANDIDATES_COLUMNS = ["normalized_email", "user_id", "providers", "accounts_in_group", "other_user_ids"]
# Dana's verified accounts (case differs; one is blocked); DANA_GH is unverified, DANA_DEL deleted.
# Omar has one verified and one unverified account: no group.
ACCOUNT_LINK_CANDIDATES = {
    DANA_DB: ("dana@acme.io", ["auth0"], 2, [DANA_G]),
    DANA_G: ("dana@acme.io", ["google-oauth2"], 2, [DANA_DB]),
}

ACTIVATION_COLUMNS = ["user_id", "name", "primary_reason", "reasons", "contact_channel", "contact_value",
                      "created_at", "last_login_at"]
UNVERIFIED, NEVER, NOT_RETURNED = "unverified_email", "never_logged_in", "signed_up_not_returned"
# Left out: LEO and DANA_G (blocked), NOBODY (no phone, no email), HANA (came back), IVAN (signed up
# more than 14 days ago), JUDY (signed up less than 24 hours ago), everyone verified who logs in.
ACTIVATION = {
    CARL: ("Carl Database", UNVERIFIED, [UNVERIFIED], "email", "carl@contoso.com", ago(days=100), CARL_LAST_LOGIN),
    SAM: ("Sam Passwordless", NEVER, [NEVER], "whatsapp", "+15550000004", ago(days=40), None),
    GUS: ("Gus GitHub", NOT_RETURNED, [NOT_RETURNED], "email", "gus@startup.dev", GUS_CREATED, GUS_LOGIN),
    KIM: ("Kim Unverified", UNVERIFIED, [UNVERIFIED, NEVER], "whatsapp", "+15550000010", ago(days=2), None),
    DANA_GH: ("Dana GitHub", UNVERIFIED, [UNVERIFIED, NEVER], "email", "DANA@acme.io", ago(days=50), None),
    OMAR: ("Omar Verified", NEVER, [NEVER], "email", "omar@example.net", ago(days=8), None),
    OMAR_G: ("Omar Google", UNVERIFIED, [UNVERIFIED, NOT_RETURNED], "email", "Omar@Example.net",
             OMAR_G_CREATED, OMAR_G_LOGIN),
}

QUALIFICATION_COLUMNS = [
    "user_id", "email", "email_domain", "enterprise_idp_points", "company_email_points", "linked_identity_points",
    "plan", "plan_points", "company", "company_points", "organization_id", "organization_name", "organization_count",
    "organization_members", "organization_active_members", "organization_roles", "organization_points",
    "organization_role_points", "active_organization_points", "score", "tier",
]
#            email               domain          ent  mail link plan          pts  company       pts score tier
QUALIFICATION = {
    ANN:     ("ann@gmail.com",    "gmail.com",     0,  0, 10, "free",        10, None,         0, 20, "cold"),
    JANE:    ("jane@acme.io",     "acme.io",      30, 20,  0, "Enterprise",  20, "Acme Inc",  10, 80, "hot"),
    CARL:    ("carl@contoso.com", "contoso.com",  30,  0, 10, None,           0, "Contoso",   10, 50, "hot"),
    SAM:     (None,               None,            0,  0,  0, None,           0, None,         0,  0, "cold"),
    ERIN:    ("erin@outlook.com", "outlook.com",   0,  0,  0, None,           0, None,         0,  0, "cold"),
    GUS:     ("gus@startup.dev",  "startup.dev",   0, 20,  0, "Business",    20, None,         0, 40, "warm"),
    HANA:    ("hana@yahoo.com",   "yahoo.com",     0,  0,  0, None,           0, "Hana Co",   10, 10, "cold"),
    IVAN:    ("ivan@example.com", "example.com",   0, 20,  0, None,           0, None,         0, 20, "cold"),
    JUDY:    ("judy@gmail.com",   "gmail.com",     0,  0,  0, None,           0, None,         0,  0, "cold"),
    KIM:     ("kim@example.org",  "example.org",   0,  0,  0, None,           0, None,         0,  0, "cold"),
    LEO:     ("leo@example.org",  "example.org",   0,  0,  0, None,           0, None,         0,  0, "cold"),
    NOBODY:  (None,               None,            0,  0,  0, None,           0, None,         0,  0, "cold"),
    DANA_DB: ("dana@acme.io",     "acme.io",       0, 20,  0, "trial",       10, None,         0, 30, "warm"),
    DANA_G:  ("Dana@Acme.io",     "acme.io",       0, 20,  0, None,           0, None,         0, 20, "cold"),
    DANA_GH: ("DANA@acme.io",     "acme.io",       0,  0,  0, None,           0, None,         0,  0, "cold"),
    OMAR:    ("omar@example.net", "example.net",   0, 20,  0, None,           0, None,         0, 20, "cold"),
    OMAR_G:  ("Omar@Example.net", "example.net",   0,  0,  0, None,           0, None,         0,  0, "cold"),
    PIA:     ("pia@example.com",  "example.com",   0, 20, 10, None,           0, None,         0, 30, "warm"),
}
# No organizations in this tenant (the data object is off): the organization columns are empty.
NO_ORGANIZATION = (None, None, 0, 0, 0, [], 0, 0, 0)
QUALIFICATION = {user: (*row[:-2], *NO_ORGANIZATION, *row[-2:]) for user, row in QUALIFICATION.items()}

NURTURE_COLUMNS = [
    "user_id", "email", "logins_7d", "logins_30d", "logins_90d", "failures_30d", "lifetime_logins",
    "last_login_at", "days_since_last_login", "segment",
]
#            email               7d 30d 90d fail life  last_login_at       days  segment
NURTURE = {
    ANN:     ("ann@gmail.com",    1, 2, 2, 1, 40, ANN_DB_LOGIN,          1,  "engaged"),
    JANE:    ("jane@acme.io",     1, 1, 1, 0,  5, JANE_LOGIN,            3,  "cooling"),
    CARL:    ("carl@contoso.com", 0, 0, 0, 0, 12, CARL_LAST_LOGIN,       45, "dormant"),
    SAM:     (None,               0, 0, 0, 0,  0, None,                  None, "never"),
    ERIN:    ("erin@outlook.com", 0, 2, 2, 0,  9, ERIN_LOGIN,            10, "cooling"),
    GUS:     ("gus@startup.dev",  1, 1, 1, 0,  1, GUS_LOGIN,             5,  "cooling"),
    HANA:    ("hana@yahoo.com",   2, 2, 2, 0,  2, HANA_LOGIN,            3,  "engaged"),
    IVAN:    ("ivan@example.com", 0, 1, 1, 0,  1, IVAN_LOGIN,            20, "cooling"),
    JUDY:    ("judy@gmail.com",   1, 1, 1, 0,  1, JUDY_LOGIN,            0,  "cooling"),
    KIM:     ("kim@example.org",  0, 0, 0, 0,  0, None,                  None, "never"),
    LEO:     ("leo@example.org",  0, 0, 0, 0,  0, None,                  None, "never"),
    NOBODY:  (None,               0, 0, 0, 0,  0, None,                  None, "never"),
    DANA_DB: ("dana@acme.io",     0, 0, 0, 0,  3, DANA_DB_LAST_LOGIN,    40, "dormant"),
    DANA_G:  ("Dana@Acme.io",     0, 0, 0, 0,  0, None,                  None, "never"),
    DANA_GH: ("DANA@acme.io",     0, 0, 0, 0,  0, None,                  None, "never"),
    OMAR:    ("omar@example.net", 0, 0, 0, 0,  0, None,                  None, "never"),
    OMAR_G:  ("Omar@Example.net", 1, 1, 1, 0,  1, OMAR_G_LOGIN,          3,  "cooling"),
    PIA:     ("pia@example.com",  0, 0, 1, 1, 30, PIA_LAST_LOGIN,        35, "dormant"),
}

VIEWS = {
    "auth0.user_auth_methods": (USER_AUTH_METHODS_COLUMNS, USER_AUTH_METHODS),
    "auth0.account_link_candidates": (ACCOUNT_LINK_CANDIDATES_COLUMNS, ACCOUNT_LINK_CANDIDATES),
    "playbooks.activation": (ACTIVATION_COLUMNS, ACTIVATION),
    "playbooks.qualification": (QUALIFICATION_COLUMNS, QUALIFICATION),
    "playbooks.nurture": (NURTURE_COLUMNS, NURTURE),
}


def test_views_end_to_end_from_a_hand_made_tenant(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    assert len(USER_AUTH_METHODS) == len(QUALIFICATION) == len(NURTURE) == 18, "every live user in each"
    tenant = build_tenant()
    server = sandbox_factory(tenant)
    pipeline_env(server)

    # sync 1 (full snapshot): the soon-deleted account is still a live user in a group of three
    result = run_sync()
    assert result.success
    assert all(evaluation.passed for evaluation in result.get_asset_check_evaluations())
    assert query(warehouse_path, "SELECT count(*) FROM auth0._rejected") == [(0,)]
    assert query(warehouse_path, "SELECT mode FROM auth0_staging.extractions WHERE stream = 'users'") == [("full",)]
    _, candidates = view_rows(warehouse_path, "auth0.account_link_candidates")
    assert candidates[DANA_DEL] == ("dana@acme.io", ["auth0"], 3, [DANA_DB, DANA_G])
    _, nurture = view_rows(warehouse_path, "playbooks.nurture")
    assert nurture[DANA_DEL][-1] == "cooling"

    # deleted in Auth0; sync 2 (incremental) reads its sdu event
    tenant.delete_user(DANA_DEL)
    result = run_sync()
    assert result.success
    assert query(warehouse_path, "SELECT mode FROM auth0_staging.extractions WHERE stream = 'users'") == [("incremental",)]
    assert query(warehouse_path, "SELECT deleted_at IS NOT NULL FROM auth0.users WHERE user_id = ?", [DANA_DEL]) == [(True,)]

    for view, (columns, expected) in VIEWS.items():
        names, rows = view_rows(warehouse_path, view)
        assert names == columns, view
        assert rows == expected, view
