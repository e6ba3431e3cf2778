"""The SQL views in sql/views/, checked row by row against hand-made warehouse rows.

Each test builds a fresh DuckDB file from the table DDL, inserts only the rows its view needs
(one that hits each rule and one that just misses it), applies every view file in prefix order and
compares the view's complete row set with the expected one. Time-relative rows are placed at fixed
offsets from the test's `now`, at least two hours away from each threshold so a slow run or a
daylight-saving shift cannot move a row across it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from pathlib import Path

import duckdb
import pytest

from bridged_auth0_pipeline.store.sql_files import SQL_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
SQL_ROOT = Path(str(SQL_DIR))  # the SQL ships inside the package
TABLES_DIR = SQL_ROOT / "tables"
VIEWS_DIR = SQL_ROOT / "views"

# two hours on either side of a threshold: more than any DST shift or test-run delay
MARGIN = dt.timedelta(hours=2)


def view_files() -> list[Path]:
    """The view files in the order the pipeline runs them: by their numeric prefix."""
    return sorted(VIEWS_DIR.glob("*.sql"), key=lambda p: (int(p.name.split("_", 1)[0]), p.name))


def read_sql(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class Warehouse:
    """A temp warehouse: table DDL applied, rows added through small helpers, views on demand."""

    def __init__(self, path: Path, now: dt.datetime):
        self.con = duckdb.connect(str(path))
        for migration in sorted(TABLES_DIR.glob("*.sql")):  # in order, as the migration runner applies them
            self.con.execute(read_sql(migration))
        for table in ("identity_providers", "log_event_types", "method_types"):  # as the migration runner seeds them
            self.con.execute(f"INSERT INTO auth0.{table} SELECT * FROM read_csv(?, header = true, all_varchar = true)",
                             [str(SQL_ROOT / "seeds" / f"{table}.csv")])
        # as a run that synced every data object records it (the views read organizations only then)
        self.con.execute("INSERT INTO auth0._sync_state VALUES ('data_objects', NULL, ?, ?)",
                         ['{"data_objects": ["users", "user_metadata", "logins", "organizations"]}', now])
        self.now = now
        self._log_ids = itertools.count(1)

    def ago(self, days: float = 0, hours: float = 0) -> dt.datetime:
        return self.now - dt.timedelta(days=days, hours=hours)

    def _insert(self, table: str, row: dict) -> None:
        columns = ", ".join(row)
        params = ", ".join("?" for _ in row)
        self.con.execute(f"INSERT INTO {table} ({columns}) VALUES ({params})", list(row.values()))

    def user(self, user_id: str, **columns) -> str:
        for key in ("user_metadata", "app_metadata"):
            if key in columns:
                columns[key] = json.dumps(columns[key])
        self._insert("auth0.users", {"user_id": user_id, "synced_at": self.now, **columns})
        return user_id

    def identity(self, user_id: str, provider: str, connection: str, *, is_social: bool | None,
                 is_primary: bool = False, identity_user_id: str | None = None) -> None:
        self._insert("auth0.user_identities", {
            "user_id": user_id, "provider": provider, "connection": connection,
            "identity_user_id": identity_user_id or user_id.split("|")[-1],
            "is_social": is_social, "is_primary": is_primary, "synced_at": self.now,
        })

    def metadata(self, user_id: str, source: str, key: str, value) -> None:
        self._insert("auth0.user_metadata", {
            "user_id": user_id, "source": source, "key": key, "value": json.dumps(value),
            "synced_at": self.now,
        })

    def event(self, user_id: str | None, category: str, occurred_at: dt.datetime, *,
              type: str | None = None, **columns) -> None:
        default_type = {"login_success": "s", "login_failure": "fp", "signup": "ss",
                        "logout": "slo", "mfa": "gd_send_sms"}.get(category, "w")
        log_id = f"log{next(self._log_ids):04d}"
        self._insert("auth0.login_events", {
            "log_id": log_id, "occurred_at": occurred_at, "type": type or default_type,
            "category": category, "user_id": user_id, "raw": json.dumps({"log_id": log_id}),
            "synced_at": self.now, **columns,
        })

    def organization(self, org_id: str, name: str, *, deleted: bool = False) -> str:
        self._insert("auth0.organizations", {"org_id": org_id, "name": name, "synced_at": self.now,
                                             "deleted_at": self.ago(days=1) if deleted else None})
        return org_id

    def member(self, org_id: str, user_id: str, *role_ids: str) -> None:
        self._insert("auth0.organization_members", {"org_id": org_id, "user_id": user_id, "synced_at": self.now})
        for role_id in role_ids:
            self._insert("auth0.organization_member_roles",
                         {"org_id": org_id, "user_id": user_id, "role_id": role_id, "synced_at": self.now})

    def role(self, role_id: str, name: str) -> str:
        self._insert("auth0.roles", {"id": role_id, "name": name, "synced_at": self.now})
        return role_id

    def connection(self, connection_id: str, name: str, strategy: str) -> None:
        """As the connections load writes it: method_type from the strategy (auth0.identity_providers)."""
        self.con.execute("INSERT INTO auth0.connections SELECT ?, ?, ?, (SELECT method_type FROM auth0.identity_providers "
                         "WHERE provider = ?), [], ?", [connection_id, name, strategy, strategy, self.now])

    def client(self, client_id: str, name: str, app_type: str, is_first_party: bool) -> None:
        self._insert("auth0.clients", {"client_id": client_id, "name": name, "app_type": app_type,
                                       "is_first_party": is_first_party, "synced_at": self.now})

    def apply_views(self) -> None:
        for path in view_files():
            self.con.execute(read_sql(path))

    def columns(self, view: str) -> list[str]:
        self.apply_views()
        return [d[0] for d in self.con.execute(f"SELECT * FROM {view} LIMIT 0").description]

    def rows_by_user(self, view: str) -> dict[str, dict]:
        """Every row of the view as {user_id: {other columns}}; fails on a duplicate user_id."""
        self.apply_views()
        cursor = self.con.execute(f"SELECT * FROM {view}")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values)) for values in cursor.fetchall()]
        by_user = {row.pop("user_id"): row for row in rows}
        assert len(by_user) == len(rows), f"{view} has more than one row for a user_id"
        return by_user


@pytest.fixture
def wh(tmp_path: Path):
    warehouse = Warehouse(tmp_path / "warehouse.duckdb", dt.datetime.now(dt.timezone.utc))
    yield warehouse
    warehouse.con.close()


# ------------------------------------------------------------------------------------------------
# The files themselves


def test_each_view_file_is_one_create_or_replace_view_named_after_the_file():
    files = view_files()
    assert [p.name for p in files] == [
        "10_auth0__user_auth_methods.sql",
        "11_auth0__account_link_candidates.sql",
        "12_auth0__login_events_enriched.sql",
        "20_playbooks__activation.sql",
        "21_playbooks__qualification.sql",
        "22_playbooks__nurture.sql",
    ]
    con = duckdb.connect()
    for path in files:
        statements = con.extract_statements(read_sql(path))
        assert len(statements) == 1, path.name
        schema, view = re.fullmatch(r"\d+_(\w+?)__(\w+)\.sql", path.name).groups()
        assert re.search(rf"CREATE OR REPLACE VIEW {schema}\.{view} AS", statements[0].query), path.name


def test_threshold_files_name_their_thresholds_first():
    for name in ("20_playbooks__activation.sql", "21_playbooks__qualification.sql", "22_playbooks__nurture.sql"):
        sql = read_sql(VIEWS_DIR / name)
        assert re.search(r"AS\s+WITH thresholds AS \(", sql), name


# ------------------------------------------------------------------------------------------------
# auth0.user_auth_methods


def test_user_auth_methods(wh: Warehouse):
    # social primary + linked database identity; latest login_success went through the database
    # connection (a later login_failure through google does not count); MFA from the profile
    wh.user("google-oauth2|1", email="ann@example.com", email_verified=True,
            multifactor=["guardian"], last_login=wh.ago(days=3))
    wh.identity("google-oauth2|1", "google-oauth2", "google-oauth2", is_social=True, is_primary=True)
    wh.identity("google-oauth2|1", "auth0", "Username-Password-Authentication", is_social=False,
                identity_user_id="a1")
    wh.event("google-oauth2|1", "login_success", wh.ago(days=5), connection="google-oauth2",
             strategy="google-oauth2", strategy_type="social")
    wh.event("google-oauth2|1", "login_success", wh.ago(days=1), connection="Username-Password-Authentication",
             strategy="auth0", strategy_type="database")
    wh.event("google-oauth2|1", "login_failure", wh.ago(hours=3), connection="google-oauth2",
             strategy="google-oauth2", strategy_type="social")

    # enterprise, no login event: last login from the profile, method from the primary identity;
    # an mfa-category event that is not evidence of enrollment (code sent) does not count
    wh.user("samlp|acme|jane", email="jane@acme.io", email_verified=True, multifactor=[],
            last_login=wh.ago(days=10))
    wh.identity("samlp|acme|jane", "samlp", "acme-saml", is_social=False, is_primary=True)
    wh.event("samlp|acme|jane", "mfa", wh.ago(days=10), type="gd_send_sms")

    # passwordless sms; event without strategy/strategy_type: filled in from the identity on the
    # event's connection; profile last_login is newer than the event; MFA from an enrollment event
    wh.user("sms|555", phone_number="+15550000555", last_login=wh.ago(hours=6))
    wh.identity("sms|555", "sms", "sms", is_social=False, is_primary=True)
    wh.event("sms|555", "login_success", wh.ago(days=2), connection="sms")
    wh.event("sms|555", "mfa", wh.ago(days=20), type="gd_enrollment_complete")

    # passwordless email; the factor was enrolled, then unenrolled: not enrolled
    wh.user("email|e1", email="eve@example.com", email_verified=True)
    wh.identity("email|e1", "email", "email", is_social=False, is_primary=True)
    wh.event("email|e1", "mfa", wh.ago(days=9), type="gd_enrollment_complete")
    wh.event("email|e1", "mfa", wh.ago(days=4), type="gd_unenroll")

    # database user who never logged in; unenrolled, then passed an MFA challenge: enrolled again
    wh.user("auth0|db1", email="dan@example.com", email_verified=False)
    wh.identity("auth0|db1", "auth0", "Username-Password-Authentication", is_social=False, is_primary=True)
    wh.event("auth0|db1", "mfa", wh.ago(days=8), type="gd_unenroll")
    wh.event("auth0|db1", "mfa", wh.ago(days=2), type="gd_auth_succeed")

    # enterprise primary + linked social; the login event's strategy_type is upper case
    wh.user("waad|corp|bob", email="bob@corp.com", email_verified=True)
    wh.identity("waad|corp|bob", "waad", "corp-azure", is_social=False, is_primary=True)
    wh.identity("waad|corp|bob", "google-oauth2", "google-oauth2", is_social=True, identity_user_id="g7")
    wh.event("waad|corp|bob", "login_success", wh.ago(days=6), connection="google-oauth2",
             strategy="google-oauth2", strategy_type="Social")

    # the event's strategy_type is not one Auth0 uses: method type from the identity instead
    wh.user("github|42", email="gus@example.com", email_verified=True)
    wh.identity("github|42", "github", "github", is_social=True, is_primary=True)
    wh.event("github|42", "login_success", wh.ago(days=1), connection="github", strategy="github",
             strategy_type="bogus")

    # is_social unknown: no method type
    wh.user("oauth2|custom|7")
    wh.identity("oauth2|custom|7", "oauth2", "custom-oauth", is_social=None, is_primary=True)

    # no identity rows at all
    wh.user("auth0|noidentity")

    # deleted and filtered-out users are not in any view
    for user_id, gone in (("auth0|deleted", "deleted_at"), ("auth0|filtered", "filtered_out_at")):
        wh.user(user_id, email="x@example.com", email_verified=True, **{gone: wh.ago(days=1)})
        wh.identity(user_id, "auth0", "Username-Password-Authentication", is_social=False, is_primary=True)

    assert wh.columns("auth0.user_auth_methods") == [
        "user_id", "email", "email_verified", "primary_provider", "primary_connection",
        "primary_method_type", "linked_providers", "linked_method_types", "linked_identity_count",
        "mfa_enrolled", "last_login_at", "last_login_provider", "last_login_connection",
        "last_login_method_type", "last_login_method_source",
    ]
    assert wh.rows_by_user("auth0.user_auth_methods") == {
        "google-oauth2|1": dict(
            email="ann@example.com", email_verified=True,
            primary_provider="google-oauth2", primary_connection="google-oauth2", primary_method_type="social",
            linked_providers=["auth0", "google-oauth2"], linked_method_types=["database", "social"],
            linked_identity_count=2, mfa_enrolled=True, last_login_at=wh.ago(days=1),
            last_login_provider="auth0", last_login_connection="Username-Password-Authentication",
            last_login_method_type="database", last_login_method_source="login_event"),
        "samlp|acme|jane": dict(
            email="jane@acme.io", email_verified=True,
            primary_provider="samlp", primary_connection="acme-saml", primary_method_type="enterprise",
            linked_providers=["samlp"], linked_method_types=["enterprise"],
            linked_identity_count=1, mfa_enrolled=False, last_login_at=wh.ago(days=10),
            last_login_provider="samlp", last_login_connection="acme-saml",
            last_login_method_type="enterprise", last_login_method_source="primary_identity"),
        "sms|555": dict(
            email=None, email_verified=None,
            primary_provider="sms", primary_connection="sms", primary_method_type="passwordless",
            linked_providers=["sms"], linked_method_types=["passwordless"],
            linked_identity_count=1, mfa_enrolled=True, last_login_at=wh.ago(hours=6),
            last_login_provider="sms", last_login_connection="sms",
            last_login_method_type="passwordless", last_login_method_source="login_event"),
        "email|e1": dict(
            email="eve@example.com", email_verified=True,
            primary_provider="email", primary_connection="email", primary_method_type="passwordless",
            linked_providers=["email"], linked_method_types=["passwordless"],
            linked_identity_count=1, mfa_enrolled=False, last_login_at=None,
            last_login_provider="email", last_login_connection="email",
            last_login_method_type="passwordless", last_login_method_source="primary_identity"),
        "auth0|db1": dict(
            email="dan@example.com", email_verified=False,
            primary_provider="auth0", primary_connection="Username-Password-Authentication",
            primary_method_type="database",
            linked_providers=["auth0"], linked_method_types=["database"],
            linked_identity_count=1, mfa_enrolled=True, last_login_at=None,
            last_login_provider="auth0", last_login_connection="Username-Password-Authentication",
            last_login_method_type="database", last_login_method_source="primary_identity"),
        "waad|corp|bob": dict(
            email="bob@corp.com", email_verified=True,
            primary_provider="waad", primary_connection="corp-azure", primary_method_type="enterprise",
            linked_providers=["google-oauth2", "waad"], linked_method_types=["enterprise", "social"],
            linked_identity_count=2, mfa_enrolled=False, last_login_at=wh.ago(days=6),
            last_login_provider="google-oauth2", last_login_connection="google-oauth2",
            last_login_method_type="social", last_login_method_source="login_event"),
        "github|42": dict(
            email="gus@example.com", email_verified=True,
            primary_provider="github", primary_connection="github", primary_method_type="social",
            linked_providers=["github"], linked_method_types=["social"],
            linked_identity_count=1, mfa_enrolled=False, last_login_at=wh.ago(days=1),
            last_login_provider="github", last_login_connection="github",
            last_login_method_type="social", last_login_method_source="login_event"),
        "oauth2|custom|7": dict(
            email=None, email_verified=None,
            primary_provider="oauth2", primary_connection="custom-oauth", primary_method_type=None,
            linked_providers=["oauth2"], linked_method_types=[],
            linked_identity_count=1, mfa_enrolled=False, last_login_at=None,
            last_login_provider="oauth2", last_login_connection="custom-oauth",
            last_login_method_type=None, last_login_method_source="primary_identity"),
        "auth0|noidentity": dict(
            email=None, email_verified=None,
            primary_provider=None, primary_connection=None, primary_method_type=None,
            linked_providers=[], linked_method_types=[],
            linked_identity_count=0, mfa_enrolled=False, last_login_at=None,
            last_login_provider=None, last_login_connection=None,
            last_login_method_type=None, last_login_method_source=None),
    }


# ------------------------------------------------------------------------------------------------
# auth0.account_link_candidates


def test_account_link_candidates(wh: Warehouse):
    # three accounts, one verified email written three ways: one group
    wh.user("auth0|a1", email=" Pat@Example.com ", email_verified=True)
    wh.identity("auth0|a1", "auth0", "Username-Password-Authentication", is_social=False, is_primary=True)
    wh.user("google-oauth2|a2", email="pat@example.com", email_verified=True)
    wh.identity("google-oauth2|a2", "google-oauth2", "google-oauth2", is_social=True, is_primary=True)
    wh.user("github|a3", email="PAT@example.COM", email_verified=True)
    wh.identity("github|a3", "github", "github", is_social=True, is_primary=True)
    wh.identity("github|a3", "sms", "sms", is_social=False, identity_user_id="s3")
    # same email, not verified (false / unknown): never joins the group
    wh.user("auth0|a4", email="pat@example.com", email_verified=False)
    wh.user("auth0|a5", email="pat@example.com", email_verified=None)

    # a verified email whose only twin is unverified: no group
    wh.user("auth0|b1", email="dup@example.com", email_verified=True)
    wh.user("auth0|b2", email="dup@example.com", email_verified=False)
    # a verified email whose twins are deleted or filtered out: no group
    wh.user("auth0|c1", email="gone@example.com", email_verified=True)
    wh.user("auth0|c2", email="gone@example.com", email_verified=True, deleted_at=wh.ago(days=1))
    wh.user("auth0|c3", email="gone@example.com", email_verified=True, filtered_out_at=wh.ago(days=1))
    # blank emails are not an address to share
    wh.user("auth0|d1", email="  ", email_verified=True)
    wh.user("auth0|d2", email="", email_verified=True)

    assert wh.columns("auth0.account_link_candidates") == [
        "normalized_email", "user_id", "providers", "accounts_in_group", "other_user_ids",
    ]
    assert wh.rows_by_user("auth0.account_link_candidates") == {
        "auth0|a1": dict(normalized_email="pat@example.com", providers=["auth0"], accounts_in_group=3,
                         other_user_ids=["github|a3", "google-oauth2|a2"]),
        "google-oauth2|a2": dict(normalized_email="pat@example.com", providers=["google-oauth2"],
                                 accounts_in_group=3, other_user_ids=["auth0|a1", "github|a3"]),
        "github|a3": dict(normalized_email="pat@example.com", providers=["github", "sms"],
                          accounts_in_group=3, other_user_ids=["auth0|a1", "google-oauth2|a2"]),
    }


# ------------------------------------------------------------------------------------------------
# playbooks.activation (recent_signup_days = 14, signup_visit_hours = 24)


def test_activation(wh: Warehouse):
    day = dt.timedelta(days=1)
    old = wh.ago(days=100)

    # unverified_email (false or unknown), and its miss: verified
    wh.user("u|unverified", name="Una", email="una@example.com", email_verified=False,
            created_at=old, last_login=wh.ago(days=1))
    wh.user("u|verified-null", email="vin@example.com", email_verified=None,
            created_at=old, last_login=wh.ago(days=1))
    wh.user("u|verified", email="val@example.com", email_verified=True,
            created_at=old, last_login=wh.ago(days=1))
    # no email at all: nothing to verify (phone-only users)
    wh.user("u|phone-only", phone_number="+15550000001", created_at=old, last_login=wh.ago(days=1))

    # never_logged_in; its miss: a login known only from a login_success event
    wh.user("u|never", name="Nev", email="nev@example.com", email_verified=True,
            phone_number="+15550000002", created_at=old)
    wh.user("u|event-login", email="evl@example.com", email_verified=True, created_at=old)
    wh.event("u|event-login", "login_success", wh.ago(days=50))
    # several reasons: all listed in priority order, the first one is primary
    wh.user("u|unverified-never", email="two@example.com", email_verified=False,
            phone_number=" +15550000003 ", created_at=old)

    # signed_up_not_returned: logged in during the signup visit only
    signup = wh.ago(days=5)
    wh.user("u|not-returned", email="nr@example.com", email_verified=True, created_at=signup,
            last_login=signup + day - MARGIN)
    wh.user("u|returned", email="rt@example.com", email_verified=True, created_at=signup,
            last_login=signup + day + MARGIN)
    # ... the return may be known from a login event only
    wh.user("u|returned-by-event", email="rte@example.com", email_verified=True, created_at=signup,
            last_login=signup + dt.timedelta(hours=1))
    wh.event("u|returned-by-event", "login_success", signup + day + MARGIN)
    # ... signup window edges (14 days)
    wh.user("u|signup-inside", email="si@example.com", email_verified=True,
            created_at=wh.ago(days=14) + MARGIN, last_login=wh.ago(days=14) + MARGIN + MARGIN)
    wh.user("u|signup-outside", email="so@example.com", email_verified=True,
            created_at=wh.ago(days=14) - MARGIN, last_login=wh.ago(days=14))
    # ... the signup visit must be over before a missing return counts
    wh.user("u|visit-over", email="vo@example.com", email_verified=True,
            created_at=wh.ago(days=1) - MARGIN, last_login=wh.ago(days=1))
    wh.user("u|visit-ongoing", email="vg@example.com", email_verified=True,
            created_at=wh.ago(days=1) + MARGIN, last_login=wh.ago(days=1) + MARGIN + MARGIN)

    # excluded: blocked, no way to contact, blank phone falls back to email, deleted
    wh.user("u|blocked", email="blk@example.com", email_verified=True, blocked=True, created_at=old)
    wh.user("u|not-blocked", email="nb@example.com", email_verified=True, blocked=False, created_at=old)
    wh.user("u|no-contact", created_at=old)
    wh.user("u|blank-phone", email="bp@example.com", email_verified=True, phone_number="  ", created_at=old)
    wh.user("u|deleted", email="del@example.com", email_verified=True, created_at=old,
            deleted_at=wh.ago(days=1))

    assert wh.columns("playbooks.activation") == [
        "user_id", "name", "primary_reason", "reasons", "contact_channel", "contact_value",
        "created_at", "last_login_at",
    ]

    def row(reasons, channel, value, created_at, last_login_at, name=None):
        return dict(name=name, primary_reason=reasons[0], reasons=reasons, contact_channel=channel,
                    contact_value=value, created_at=created_at, last_login_at=last_login_at)

    assert wh.rows_by_user("playbooks.activation") == {
        "u|unverified": row(["unverified_email"], "email", "una@example.com", old, wh.ago(days=1), name="Una"),
        "u|verified-null": row(["unverified_email"], "email", "vin@example.com", old, wh.ago(days=1)),
        "u|never": row(["never_logged_in"], "whatsapp", "+15550000002", old, None, name="Nev"),
        "u|unverified-never": row(["unverified_email", "never_logged_in"], "whatsapp", "+15550000003", old, None),
        "u|not-returned": row(["signed_up_not_returned"], "email", "nr@example.com", signup, signup + day - MARGIN),
        "u|signup-inside": row(["signed_up_not_returned"], "email", "si@example.com",
                               wh.ago(days=14) + MARGIN, wh.ago(days=14) + MARGIN + MARGIN),
        "u|visit-over": row(["signed_up_not_returned"], "email", "vo@example.com",
                            wh.ago(days=1) - MARGIN, wh.ago(days=1)),
        "u|not-blocked": row(["never_logged_in"], "email", "nb@example.com", old, None),
        "u|blank-phone": row(["never_logged_in"], "email", "bp@example.com", old, None),
    }


# ------------------------------------------------------------------------------------------------
# playbooks.qualification (enterprise 30, company email 20, linked 10, plan 10 / premium 20,
# company 10; hot >= 50, warm >= 30)


def test_qualification(wh: Warehouse):
    def user(user_id, email=None, email_verified=True, identities=(("auth0", False),)):
        wh.user(user_id, email=email, email_verified=email_verified)
        for n, (provider, is_social) in enumerate(identities):
            wh.identity(user_id, provider, f"{provider}-conn", is_social=is_social, is_primary=n == 0,
                        identity_user_id=f"{user_id}-{n}")

    # every component: enterprise IdP + linked identity + work email + premium plan + company
    user("q|all", "jane@acme.io", identities=[("samlp", False), ("auth0", False)])
    wh.metadata("q|all", "app_metadata", "plan", "Enterprise")
    wh.metadata("q|all", "user_metadata", "company", "Acme")
    # exactly hot: enterprise (waad) + work email
    user("q|hot-edge", "al@bigco.com", identities=[("waad", False)])
    # just below hot: enterprise (oidc) + a plain plan, free-mail address (any case)
    user("q|warm-40", "bo@Gmail.com", identities=[("oidc", False)])
    wh.metadata("q|warm-40", "app_metadata", "plan", "starter")
    # exactly warm: work email + company under a differently spelled key
    user("q|warm-edge", "cy@firm.com")
    wh.metadata("q|warm-edge", "user_metadata", "Company_Name", "Firm Ltd")
    # just below warm: work email only; a plan in user_metadata is ignored (users can edit it)
    user("q|cold-edge", "di@firm.com")
    wh.metadata("q|cold-edge", "user_metadata", "plan", "pro")
    # unverified work email: no points; company from app_metadata wins over user_metadata
    user("q|unverified", "ed@corp.com", email_verified=False)
    wh.metadata("q|unverified", "app_metadata", "companyName", "Corp")
    wh.metadata("q|unverified", "user_metadata", "company", "Other")
    # several identities, none enterprise: social ones, and auth0 / sms / email (not social either)
    user("q|social-linked", None, identities=[("github", True), ("google-oauth2", True)])
    user("q|passwordless-linked", "fi@yahoo.com", identities=[("sms", False), ("email", False), ("auth0", False)])
    # plan as an object with a name: premium; values that are not text give no points
    user("q|plan-object", "gi@hotmail.com")
    wh.metadata("q|plan-object", "app_metadata", "plan", {"name": "Pro", "id": "plan_1"})
    user("q|junk-metadata", "hu@outlook.com")
    wh.metadata("q|junk-metadata", "app_metadata", "plan", 3)
    wh.metadata("q|junk-metadata", "app_metadata", "company", "  ")
    wh.metadata("q|junk-metadata", "user_metadata", "organization", None)
    # not an email address: no domain, no points
    user("q|no-at", "not-an-email")
    # deleted: not scored
    wh.user("q|deleted", email="x@acme.io", email_verified=True, deleted_at=wh.ago(days=1))

    # Organizations. acme: 4 live members, 3 active in 30 days (admin, active1, active2), a deleted
    # member not counted; beta: a second, smaller organization of org-member; smallco: one member with a
    # role, too few active members; gone: deleted organization, no signal.
    admin, buyer = wh.role("rol_admin", "admin"), wh.role("rol_buyer", "buyer")
    acme, beta = wh.organization("org_acme", "acme"), wh.organization("org_beta", "beta")
    small, gone = wh.organization("org_small", "smallco"), wh.organization("org_gone", "gone", deleted=True)
    for user_id, days in (("q|org-admin", 2), ("q|org-member", 40), ("q|org-active1", 28), ("q|org-active2", 1),
                          ("q|org-gone", 1), ("q|org-small", 1)):
        wh.user(user_id, email=f"{user_id[2:]}@gmail.com", email_verified=True, last_login=wh.ago(days=days))
        wh.identity(user_id, "auth0", "db", is_social=False, is_primary=True)
    wh.member(acme, "q|org-admin", admin)
    for user_id in ("q|org-member", "q|org-active1", "q|org-active2", "q|deleted"):
        wh.member(acme, user_id)
    wh.member(beta, "q|org-member", buyer)  # a role in the smaller organization: not the one scored
    wh.member(small, "q|org-small", buyer)
    wh.member(gone, "q|org-gone", admin)

    assert wh.columns("playbooks.qualification") == [
        "user_id", "email", "email_domain", "enterprise_idp_points", "company_email_points",
        "linked_identity_points", "plan", "plan_points", "company", "company_points",
        "organization_id", "organization_name", "organization_count", "organization_members",
        "organization_active_members", "organization_roles", "organization_points", "organization_role_points",
        "active_organization_points", "score", "tier",
    ]
    columns = ("email", "email_domain", "enterprise_idp_points", "company_email_points",
               "linked_identity_points", "plan", "plan_points", "company", "company_points",
               "organization_id", "organization_name", "organization_count", "organization_members",
               "organization_active_members", "organization_roles", "organization_points", "organization_role_points",
               "active_organization_points", "score", "tier")
    no_org = (None, None, 0, 0, 0, [], 0, 0, 0)
    expected = {
        "q|all":                 ("jane@acme.io", "acme.io",   30, 20, 10, "Enterprise", 20, "Acme",     10, *no_org, 90, "hot"),
        "q|hot-edge":            ("al@bigco.com", "bigco.com", 30, 20,  0, None,          0, None,        0, *no_org, 50, "hot"),
        "q|warm-40":             ("bo@Gmail.com", "gmail.com", 30,  0,  0, "starter",    10, None,        0, *no_org, 40, "warm"),
        "q|warm-edge":           ("cy@firm.com",  "firm.com",   0, 20,  0, None,          0, "Firm Ltd", 10, *no_org, 30, "warm"),
        "q|cold-edge":           ("di@firm.com",  "firm.com",   0, 20,  0, None,          0, None,        0, *no_org, 20, "cold"),
        "q|unverified":          ("ed@corp.com",  "corp.com",   0,  0,  0, None,          0, "Corp",     10, *no_org, 10, "cold"),
        "q|social-linked":       (None,           None,         0,  0, 10, None,          0, None,        0, *no_org, 10, "cold"),
        "q|passwordless-linked": ("fi@yahoo.com", "yahoo.com",  0,  0, 10, None,          0, None,        0, *no_org, 10, "cold"),
        "q|plan-object":         ("gi@hotmail.com", "hotmail.com", 0, 0, 0, "Pro",       20, None,        0, *no_org, 20, "cold"),
        "q|junk-metadata":       ("hu@outlook.com", "outlook.com", 0, 0, 0, None,         0, None,        0, *no_org, 0, "cold"),
        "q|no-at":               ("not-an-email", None,         0,  0,  0, None,          0, None,        0, *no_org, 0, "cold"),
        # organization rows:      org, name, count, members, active, roles, org/role/active points, score
        "q|org-admin":   ("org-admin@gmail.com", "gmail.com", 0, 0, 0, None, 0, None, 0,
                          acme, "acme", 1, 4, 3, ["admin"], 20, 10, 10, 40, "warm"),
        "q|org-member":  ("org-member@gmail.com", "gmail.com", 0, 0, 0, None, 0, None, 0,
                          acme, "acme", 2, 4, 3, [], 20, 0, 10, 30, "warm"),
        "q|org-active1": ("org-active1@gmail.com", "gmail.com", 0, 0, 0, None, 0, None, 0,
                          acme, "acme", 1, 4, 3, [], 20, 0, 10, 30, "warm"),
        "q|org-active2": ("org-active2@gmail.com", "gmail.com", 0, 0, 0, None, 0, None, 0,
                          acme, "acme", 1, 4, 3, [], 20, 0, 10, 30, "warm"),
        "q|org-small":   ("org-small@gmail.com", "gmail.com", 0, 0, 0, None, 0, None, 0,
                          small, "smallco", 1, 1, 1, ["buyer"], 20, 10, 0, 30, "warm"),
        "q|org-gone":    ("org-gone@gmail.com", "gmail.com", 0, 0, 0, None, 0, None, 0, *no_org, 0, "cold"),
    }
    assert wh.rows_by_user("playbooks.qualification") == {
        user_id: dict(zip(columns, values)) for user_id, values in expected.items()
    }


# ------------------------------------------------------------------------------------------------
# playbooks.nurture (engaged: last login within 7 days and >= 2 logins in 30 days;
# dormant: no login for more than 30 days)


def test_nurture(wh: Warehouse):
    # engaged: two logins this week; signups, logouts and events of nobody do not count
    wh.user("n|engaged", email="en@example.com", logins_count=12)
    wh.event("n|engaged", "login_success", wh.ago(days=1))
    wh.event("n|engaged", "login_success", wh.ago(days=7) + MARGIN)
    wh.event("n|engaged", "signup", wh.ago(days=1))
    wh.event("n|engaged", "logout", wh.ago(days=1))
    wh.event(None, "login_success", wh.ago(days=1))
    # one login only: recent, but not a habit
    wh.user("n|single", email="si@example.com", logins_count=1)
    wh.event("n|single", "login_success", wh.ago(days=1))
    # window edges of the 7/30/90-day counts; last login just outside the engaged window
    wh.user("n|windows", logins_count=4)
    for at in (wh.ago(days=7) - MARGIN, wh.ago(days=30) + MARGIN, wh.ago(days=30) - MARGIN,
               wh.ago(days=90) + MARGIN, wh.ago(days=90) - MARGIN):
        wh.event("n|windows", "login_success", at)
    # failures are counted apart, over 30 days
    wh.user("n|failures", logins_count=1)
    wh.event("n|failures", "login_success", wh.ago(days=40))
    wh.event("n|failures", "login_failure", wh.ago(days=30) + MARGIN)
    wh.event("n|failures", "login_failure", wh.ago(days=30) - MARGIN)
    # profile last_login only (older than the synced log history): cooling / dormant edges
    wh.user("n|cooling-edge", last_login=wh.ago(days=30) + MARGIN)
    wh.user("n|dormant-edge", last_login=wh.ago(days=30) - MARGIN)
    # profile last_login newer than any event
    wh.user("n|profile-newer", last_login=wh.ago(hours=5))
    wh.event("n|profile-newer", "login_success", wh.ago(days=3))
    wh.event("n|profile-newer", "login_success", wh.ago(days=5))
    # never logged in
    wh.user("n|never", email="nv@example.com", logins_count=0)
    # gone users
    wh.user("n|deleted", deleted_at=wh.ago(days=1))
    wh.event("n|deleted", "login_success", wh.ago(days=1))
    wh.user("n|filtered", filtered_out_at=wh.ago(days=1))

    assert wh.columns("playbooks.nurture") == [
        "user_id", "email", "logins_7d", "logins_30d", "logins_90d", "failures_30d", "lifetime_logins",
        "last_login_at", "days_since_last_login", "segment",
    ]
    columns = ("email", "logins_7d", "logins_30d", "logins_90d", "failures_30d", "lifetime_logins",
               "last_login_at", "days_since_last_login", "segment")
    expected = {
        "n|engaged":       ("en@example.com", 2, 2, 2, 0, 12, wh.ago(days=1), 1, "engaged"),
        "n|single":        ("si@example.com", 1, 1, 1, 0, 1, wh.ago(days=1), 1, "cooling"),
        "n|windows":       (None, 0, 2, 4, 0, 4, wh.ago(days=7) - MARGIN, 7, "cooling"),
        "n|failures":      (None, 0, 0, 1, 1, 1, wh.ago(days=40), 40, "dormant"),
        "n|cooling-edge":  (None, 0, 0, 0, 0, None, wh.ago(days=30) + MARGIN, 29, "cooling"),
        "n|dormant-edge":  (None, 0, 0, 0, 0, None, wh.ago(days=30) - MARGIN, 30, "dormant"),
        "n|profile-newer": (None, 2, 2, 2, 0, None, wh.ago(hours=5), 0, "engaged"),
        "n|never":         ("nv@example.com", 0, 0, 0, 0, 0, None, None, "never"),
    }
    assert wh.rows_by_user("playbooks.nurture") == {
        user_id: dict(zip(columns, values)) for user_id, values in expected.items()
    }


# ------------------------------------------------------------------------------------------------
# auth0.connections in auth0.user_auth_methods, and auth0.login_events_enriched


def test_user_auth_methods_takes_the_method_type_of_a_known_connection(wh: Warehouse):
    # isSocial missing: unknown by the identity alone, enterprise by its connection's strategy (oidc)
    wh.user("oidc|corp|1")
    wh.identity("oidc|corp|1", "oidc", "corp-oidc", is_social=None, is_primary=True)
    wh.connection("con_corp", "corp-oidc", "oidc")
    # same identity, connection not synced (no read:connections): as before, unknown
    wh.user("oidc|other|2")
    wh.identity("oidc|other|2", "oidc", "other-oidc", is_social=None, is_primary=True)
    rows = wh.rows_by_user("auth0.user_auth_methods")
    assert rows["oidc|corp|1"]["primary_method_type"] == "enterprise"
    assert rows["oidc|other|2"]["primary_method_type"] is None


def test_login_events_enriched(wh: Warehouse):
    wh.client("cli_web", "Bridged Web", "spa", True)
    wh.connection("con_db", "Username-Password-Authentication", "auth0")
    wh.connection("con_gh", "github", "github")
    at = wh.ago(days=1)
    # known client and connection (by id): the names and types of the synced tables
    wh.event("u|1", "login_success", at, client_id="cli_web", client_name="Old name", connection_id="con_db",
             connection="Username-Password-Authentication")
    # connection named but without id: matched by name; unknown client: the event's own name
    wh.event("u|2", "login_success", at, client_id="cli_gone", client_name="Gone App", connection="github")
    # unknown connection: the event's strategy_type, else its strategy's method type
    wh.event("u|3", "login_failure", at, connection="sso", strategy="samlp", strategy_type="Enterprise")
    wh.event("u|4", "login_failure", at, connection="sms-x", strategy="sms", strategy_type="bogus")
    wh.event(None, "other", at)
    wh.apply_views()
    rows = wh.con.execute(
        "SELECT user_id, application_name, application_type, application_is_first_party, connection_method_type "
        "FROM auth0.login_events_enriched ORDER BY log_id").fetchall()
    assert rows == [
        ("u|1", "Bridged Web", "spa", True, "database"),
        ("u|2", "Gone App", None, None, "social"),
        ("u|3", None, None, None, "enterprise"),
        ("u|4", None, None, None, "passwordless"),
        (None, None, None, None, None),
    ]
    assert wh.con.execute("SELECT count(*) FROM auth0.login_events").fetchone() == (5,)
