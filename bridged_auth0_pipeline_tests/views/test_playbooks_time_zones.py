"""The playbook views give the same rows whatever the session time zone of whoever queries them.

The views are computed when queried, in the analyst's session (`duckdb` CLI and Python default to
the machine's local time zone). Their windows ("last 7 days", "created within 14 days", "no login
for 30 days") are counted in 24-hour periods back from now. `to_days(n)` would instead subtract
calendar days in the session time zone: across a daylight-saving change a "30-day" window is then
30 days ± 1 hour, and a WhatsApp batch or a segment would depend on who ran the query.

Rows sit 30 minutes inside and outside each window boundary, then each view is read under UTC, under
the two fixed zones farthest from it (UTC+14 and UTC-12: local and UTC time differ, and so do their
calendar days, every day of the year) and under every time zone of a list that has a daylight-saving
change inside the windows today (which zones those are depends on the date, so they are picked at
run time, and on some dates there are none).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from bridged_auth0_pipeline.store.sql_files import SQL_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
SQL_ROOT = Path(str(SQL_DIR))  # the SQL ships inside the package
VIEWS_DIR = SQL_ROOT / "views"
TABLES_DIR = SQL_ROOT / "tables"

# both hemispheres, half-hour DST (Lord Howe), Ramadan-dependent DST (Casablanca)
CANDIDATE_ZONES = [
    "America/Los_Angeles", "America/New_York", "America/Havana", "America/Santiago", "America/Asuncion",
    "Europe/London", "Europe/Berlin", "Europe/Chisinau", "Africa/Casablanca", "Asia/Jerusalem",
    "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Auckland", "Pacific/Chatham",
]
# Read whatever the date. POSIX names: Etc/GMT-14 is UTC+14 (Kiribati's offset), Etc/GMT+12 is UTC-12.
FIXED_ZONES = ["Etc/GMT-14", "Etc/GMT+12"]
LONGEST_WINDOW = timedelta(days=91)
EDGE = timedelta(minutes=30)


def days(n: int) -> timedelta:
    return timedelta(hours=24 * n)


def zones_with_a_dst_change_since(start: datetime, end: datetime) -> list[str]:
    found = []
    for name in CANDIDATE_ZONES:
        zone = ZoneInfo(name)
        if start.astimezone(zone).utcoffset() != end.astimezone(zone).utcoffset():
            found.append(name)
    return found


def view_files() -> list[Path]:
    return sorted(VIEWS_DIR.glob("*.sql"), key=lambda p: (int(p.name.split("_", 1)[0]), p.name))


@pytest.fixture
def warehouse(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for path in sorted(TABLES_DIR.glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    yield con
    con.close()


def build(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    log_ids = iter(range(1, 1000))

    def user(user_id: str, **columns) -> None:
        row = {"user_id": user_id, "email": user_id.split("|")[1] + "@example.com", "email_verified": True,
               "created_at": now - days(200), "synced_at": now, **columns}
        con.execute(f"INSERT INTO auth0.users ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()))
        con.execute("INSERT INTO auth0.user_identities (user_id, provider, identity_user_id, connection, is_social, "
                    "is_primary, synced_at) VALUES (?, 'auth0', ?, 'Username-Password-Authentication', false, true, ?)",
                    [user_id, user_id.split("|")[1], now])

    def event(user_id: str, category: str, at: datetime) -> None:
        log_id = f"log{next(log_ids):04d}"
        con.execute("INSERT INTO auth0.login_events (log_id, occurred_at, type, category, user_id, raw, synced_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [log_id, at, {"login_success": "s", "login_failure": "fp"}[category], category, user_id,
                     json.dumps({"log_id": log_id}), now])

    # the 7/30/90-day counts: one event 30 minutes inside and one 30 minutes outside each window
    user("auth0|counts")
    for n in (7, 30, 90):
        event("auth0|counts", "login_success", now - days(n) + EDGE)
        event("auth0|counts", "login_success", now - days(n) - EDGE)
    event("auth0|counts", "login_failure", now - days(30) + EDGE)
    event("auth0|counts", "login_failure", now - days(30) - EDGE)
    # engaged needs a login within 7 days: 30 minutes too old makes it cooling
    user("auth0|engagedmiss")
    event("auth0|engagedmiss", "login_success", now - days(7) - EDGE)
    event("auth0|engagedmiss", "login_success", now - days(20))
    # cooling up to 30 days since the last login, dormant after
    user("auth0|cooling", last_login=now - days(30) + EDGE)
    user("auth0|dormant", last_login=now - days(30) - EDGE)
    # signed_up_not_returned looks at accounts created within 14 days
    for name, created in (("recent", now - days(14) + EDGE), ("notrecent", now - days(14) - EDGE)):
        user(f"auth0|{name}", created_at=created, last_login=created + timedelta(hours=1))

    for path in view_files():
        con.execute(path.read_text(encoding="utf-8"))


NURTURE = {
    # user: (logins_7d, logins_30d, logins_90d, failures_30d, days_since_last_login, segment)
    "auth0|counts": (1, 3, 5, 1, 6, "engaged"),
    "auth0|engagedmiss": (0, 2, 2, 0, 7, "cooling"),
    "auth0|cooling": (0, 0, 0, 0, 29, "cooling"),
    "auth0|dormant": (0, 0, 0, 0, 30, "dormant"),
    "auth0|recent": (0, 0, 0, 0, 13, "cooling"),
    "auth0|notrecent": (0, 0, 0, 0, 13, "cooling"),
}
ACTIVATION = {"auth0|recent": ("signed_up_not_returned", ["signed_up_not_returned"])}


def read(con: duckdb.DuckDBPyConnection, zone: str) -> tuple[dict, dict]:
    con.execute(f"SET TimeZone = '{zone}'")
    nurture = {row[0]: row[1:] for row in con.execute(
        "SELECT user_id, logins_7d, logins_30d, logins_90d, failures_30d, days_since_last_login, segment "
        "FROM playbooks.nurture").fetchall()}
    activation = {row[0]: row[1:] for row in con.execute(
        "SELECT user_id, primary_reason, reasons FROM playbooks.activation").fetchall()}
    return nurture, activation


def test_windows_do_not_depend_on_the_session_time_zone(warehouse):
    now = datetime.now(timezone.utc)
    build(warehouse, now)
    zones = ["UTC", *FIXED_ZONES, *zones_with_a_dst_change_since(now - LONGEST_WINDOW, now)]
    offsets = set()
    for zone in zones:
        assert read(warehouse, zone) == (NURTURE, ACTIVATION), f"session time zone {zone}"
        offsets.add(warehouse.execute("SELECT utc_offset FROM pg_timezone_names() WHERE name = current_setting('TimeZone')").fetchone()[0])
    assert len(offsets) >= 3, f"the views were read under {sorted(offsets)} only"


# Calendar arithmetic on a TIMESTAMPTZ follows the session time zone: to_days(n), INTERVAL n DAY,
# date_diff / date_sub / age, and the interval a - b (whose days are calendar days: epoch() of it
# is off by an hour across a daylight-saving change)
SESSION_DEPENDENT = re.compile(
    r"\bto_(days|weeks|months|years)\s*\("
    r"|\bINTERVAL\b[^,)]*\b(DAY|WEEK|MONTH|YEAR)S?\b"
    r"|\b(date_?diff|date_?sub|age)\s*\("
    r"|\bepoch\s*\([^()]*\s-\s",
    re.IGNORECASE,
)


def test_view_windows_are_24_hour_periods():
    """Whatever the date (the test above needs a DST change in the windows), no view uses them."""
    for path in view_files():
        code = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        assert not SESSION_DEPENDENT.search(code), f"{path.name}: {SESSION_DEPENDENT.search(code).group(0)}"
