"""The connection registry: every customer tenant's "Connect Account" step, in one SQLite file.

SQLite in WAL mode because several processes use it at once: the CLI writes while the daemon's
sensors, run workers and the webserver read. WAL lets readers go on during a write, and
`busy_timeout` makes a second writer wait instead of failing with "database is locked". A DuckDB
file would not do: it takes one writing process and locks readers out of other processes.
Each call opens its own short connection, so no process holds the file between calls.
Secrets are stored only as Fernet ciphertext (see secrets.py); everything else is plain.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bridged_auth0_pipeline.config.settings import SettingsError

TENANT_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
DEFAULT_TENANT = "default"  # the tenant of the AUTH0_* variables; never stored
METHODS = ("client_credentials", "management_token")
BUSY_TIMEOUT_SECONDS = 30

SCHEMA = """
CREATE TABLE IF NOT EXISTS connections (
    key               TEXT PRIMARY KEY,
    domain            TEXT NOT NULL,
    client_id         TEXT,
    audience          TEXT,
    method            TEXT NOT NULL,
    secret_encrypted  TEXT NOT NULL,   -- Fernet ciphertext of the client secret or Management API token
    settings          TEXT NOT NULL,   -- the tenant's sync settings (JSON, as SyncSettings.choices())
    token_expires_at  TEXT,            -- management_token: the token's exp claim
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_test_at      TEXT,
    last_test_result  TEXT,            -- 'ok', 'untested (stored with --force)', or the failure's message
    active_users      INTEGER          -- users active in the last 30 days at the last passed test (read:stats), or NULL
)
"""
# Columns added after a registry file may have been created: (name, type), added when missing.
ADDED_COLUMNS = (("active_users", "INTEGER"),)


def check_tenant_key(key: str) -> str:
    if not TENANT_KEY.fullmatch(key or ""):
        raise SettingsError(
            f"Tenant key {key!r} is not valid. Fix: use 1–63 lowercase letters, digits and dashes, starting with a "
            "letter or digit (e.g. acme or acme-eu)."
        )
    return key


def _add_missing_columns(con: sqlite3.Connection) -> None:
    """Bring a registry created by an older version up to SCHEMA (inside the write transaction)."""
    present = {row[1] for row in con.execute("PRAGMA table_info(connections)")}
    for name, kind in ADDED_COLUMNS:
        if name not in present:
            con.execute(f"ALTER TABLE connections ADD COLUMN {name} {kind}")


def _use_wal(con: sqlite3.Connection) -> None:
    """Switch the file to WAL (persistent: once per file), so readers never wait for a writer.

    SQLite answers a switch that races another connection's with "database is locked" at once, without
    waiting for busy_timeout: three `bridged-auth0 connect` started together on a new registry failed
    66 of 600 times. So check first, and retry until the file is in WAL, by us or by the other writer.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            con.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredConnection:
    key: str
    domain: str
    client_id: str | None
    audience: str | None
    method: str
    secret_encrypted: str = field(repr=False)
    settings: dict[str, str]
    token_expires_at: str | None
    created_at: str
    updated_at: str
    last_test_at: str | None
    last_test_result: str | None
    active_users: int | None = None  # a size hint: `sync --all` starts the largest first syncs first


class ConnectionRegistry:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not self.path.exists():
            if not write:
                yield None
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600)  # ciphertext only, but nobody else needs to read it
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            if write:
                _use_wal(con)
                con.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting up to busy_timeout
                try:
                    con.execute(SCHEMA)
                    _add_missing_columns(con)
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            else:
                yield con
        finally:
            con.close()

    def _rows(self, where: str = "", params: tuple = ()) -> list[StoredConnection]:
        with self._connect() as con:
            if con is None:
                return []
            try:
                rows = con.execute(f"SELECT * FROM connections {where} ORDER BY key", params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise
        return [StoredConnection(*row[:6], json.loads(row[6]), *row[7:]) for row in rows]

    def keys(self) -> list[str]:
        return [connection.key for connection in self._rows()]

    def all(self) -> list[StoredConnection]:
        return self._rows()

    def get(self, key: str) -> StoredConnection:
        rows = self._rows("WHERE key = ?", (key,))
        if not rows:
            raise SettingsError(
                f"No tenant {key!r} is connected (registry {self.path}). Fix: `bridged-auth0 tenants` lists the "
                f"connected tenants; connect this one with `bridged-auth0 connect {key} --domain ... --client-id ...`."
            )
        return rows[0]

    def put(
        self, key: str, *, domain: str, client_id: str | None, audience: str | None, method: str,
        secret_encrypted: str, settings: dict[str, str], token_expires_at: str | None, test_result: str,
        active_users: int | None = None,
    ) -> None:
        """Create or replace a connection; a replaced one keeps its created_at."""
        check_tenant_key(key)
        now = _now()
        with self._connect(write=True) as con:
            con.execute(
                """INSERT INTO connections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET domain = excluded.domain, client_id = excluded.client_id,
                     audience = excluded.audience, method = excluded.method,
                     secret_encrypted = excluded.secret_encrypted, settings = excluded.settings,
                     token_expires_at = excluded.token_expires_at, updated_at = excluded.updated_at,
                     last_test_at = excluded.last_test_at, last_test_result = excluded.last_test_result,
                     active_users = excluded.active_users""",
                (key, domain, client_id, audience, method, secret_encrypted, json.dumps(settings, sort_keys=True),
                 token_expires_at, now, now, now, test_result, active_users),
            )

    def update_settings(self, key: str, settings: dict[str, str]) -> None:
        self._update(key, "settings = ?", json.dumps(settings, sort_keys=True))

    def record_test(self, key: str, result: str, active_users: int | None = None) -> None:
        """A passed test also records its active-users count; a failed one keeps the last known."""
        if active_users is None:
            self._update(key, "last_test_result = ?, last_test_at = ?", result, _now())
        else:
            self._update(key, "last_test_result = ?, last_test_at = ?, active_users = ?", result, _now(), active_users)

    def _update(self, key: str, assignments: str, *values) -> None:
        self.get(key)  # a clear error for an unknown key
        with self._connect(write=True) as con:
            con.execute(f"UPDATE connections SET {assignments}, updated_at = ? WHERE key = ?", (*values, _now(), key))

    def delete(self, key: str) -> None:
        self.get(key)
        with self._connect(write=True) as con:
            con.execute("DELETE FROM connections WHERE key = ?", (key,))

    def reencrypt(self, rotate) -> int:
        """Re-encrypt every stored secret with `rotate(ciphertext, owner=key)`, all in one transaction."""
        with self._connect(write=True) as con:
            rows = con.execute("SELECT key, secret_encrypted FROM connections").fetchall()
            for key, ciphertext in rows:
                con.execute("UPDATE connections SET secret_encrypted = ?, updated_at = ? WHERE key = ?",
                            (rotate(ciphertext, owner=key), _now(), key))
        return len(rows)
