"""sql/seeds/log_event_types.csv is the one classification of log event types: which are logins and
which are MFA evidence. The warehouse (auth0.user_auth_methods) and `bridged-auth0 user` both read
it, so they answer alike for every type, and a type added to the seed counts in both."""

from __future__ import annotations

import duckdb
import pytest

from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.sql_files import read_sql, sql_files
from bridged_auth0_pipeline.support.user_answer import describe, log_event_types

DATES = ["2026-11-01T10:00:00.000Z", "2026-11-02T10:00:00.000Z"]


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    apply_migrations(con)
    return con


def _user(con, user_id: str, events: list[dict]) -> dict:
    """The user in the warehouse (one database identity, these log events) and as the API returns it."""
    con.execute("INSERT INTO auth0.users (user_id, synced_at) VALUES (?, now())", [user_id])
    con.execute("INSERT INTO auth0.user_identities VALUES (?, 'auth0', ?, 'Username-Password-Authentication', false, true, NULL, now())",
                [user_id, user_id.split("|")[1]])
    for n, event in enumerate(events):
        con.execute(
            "INSERT INTO auth0.login_events BY NAME SELECT ? AS log_id, ?::TIMESTAMPTZ AS occurred_at, ? AS type, "
            "coalesce((SELECT category FROM auth0.log_event_types WHERE code = ?), 'other') AS category, "
            "? AS user_id, 'Username-Password-Authentication' AS connection, '{}'::JSON AS raw, now() AS synced_at",
            [f"{user_id}-{n}", event["date"], event["type"], event["type"], user_id])
    return {"user_id": user_id, "identities": [
        {"provider": "auth0", "user_id": user_id.split("|")[1], "connection": "Username-Password-Authentication",
         "isSocial": False}]}


def _in_sql(con) -> dict[str, tuple[bool, bool]]:
    for view in sql_files("views"):
        con.execute(read_sql(view))
    rows = con.execute("SELECT user_id, mfa_enrolled, last_login_method_source = 'login_event' FROM auth0.user_auth_methods")
    return {user_id: (mfa, login) for user_id, mfa, login in rows.fetchall()}


def _in_python(user: dict, events: list[dict]) -> tuple[bool, bool]:
    answer = describe(user, sorted(events, key=lambda e: e["date"], reverse=True))  # the API lists newest first
    return answer["mfa_enrolled"], answer["last_login_method"] is not None


def test_the_seed_table_holds_the_csv_with_its_mfa_evidence(warehouse):
    seed = log_event_types()
    in_table = dict(warehouse.execute("SELECT code, mfa_evidence FROM auth0.log_event_types").fetchall())
    assert in_table == {code: row["mfa_evidence"] or None for code, row in seed.items()}
    assert {code for code, evidence in in_table.items() if evidence} == {
        "gd_enrollment_complete", "gd_auth_succeed", "gd_recovery_succeed", "gd_unenroll"}


def test_sql_and_python_classify_every_log_event_type_alike(warehouse):
    seed = log_event_types()
    users = {}
    for n, code in enumerate(sorted(seed)):
        events = [{"type": code, "date": DATES[0]}]
        users[f"auth0|{n}"] = (_user(warehouse, f"auth0|{n}", events), events)
    in_sql = _in_sql(warehouse)
    in_python = {user_id: _in_python(user, events) for user_id, (user, events) in users.items()}
    assert in_sql == in_python
    by_code = {code: in_sql[f"auth0|{n}"] for n, code in enumerate(sorted(seed))}
    assert {code for code, (mfa, _) in by_code.items() if mfa} == {
        code for code, row in seed.items() if row["mfa_evidence"] == "enrolled"}
    assert {code for code, (_, login) in by_code.items() if login} == {
        code for code, row in seed.items() if row["category"] == "login_success"} == {"s", "scoa", "sens"}


@pytest.mark.parametrize("order, enrolled", [(["gd_auth_succeed", "gd_unenroll"], False),
                                              (["gd_unenroll", "gd_enrollment_complete"], True)])
def test_the_newest_mfa_evidence_decides_in_both(warehouse, order, enrolled):
    events = [{"type": code, "date": date} for code, date in zip(order, DATES)]
    user = _user(warehouse, "auth0|1", events)
    assert _in_sql(warehouse)["auth0|1"][0] is enrolled
    assert _in_python(user, events)[0] is enrolled
