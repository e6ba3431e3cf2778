"""A real, throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a cluster in a temp dir.

Import the fixtures into a test module (`from bridged_auth0_pipeline_tests.postgres_fixtures import
postgres_server, postgres_url`). `.ci/run` installs the binaries, so CI never skips; elsewhere the
tests skip only when `initdb`/`pg_ctl` are absent. PostgreSQL refuses to run as root, so as root the
cluster is created and run by the `postgres` user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "dagster"
# A password, not `trust`: the tests prove the password reaches Dagster through DAGSTER_PG_PASSWORD.
PASSWORD = "pg-test-password-7f3a"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, db_name: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{db_name}"

    def dagster_env(self, db_name: str) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads its storage connection from."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USER": self.user,
                "DAGSTER_PG_PASSWORD": self.password, "DAGSTER_PG_DB": db_name}

    def create_database(self) -> str:
        import psycopg2  # dagster-postgres' driver

        name = f"dagster_{uuid.uuid4().hex[:12]}"
        connection = psycopg2.connect(self.url("postgres"))
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        try:
            connection.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return name


def postgres_bin_dir() -> Path | None:
    """Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<version>/bin; else PATH."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                    key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    if debian:
        return debian[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: `apt-get install postgresql` "
                    "(.ci/run does this) to run the Postgres-backed tests")
    # Not pytest's tmp_path: its parents are private to root, and as root the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="bridged-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    (base / "pwfile").write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (base, sockets, base / "pwfile"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = _free_port()

    def run(program: str, *args: str) -> None:
        subprocess.run(_as_server_user([str(bin_dir / program), *args]), check=True, capture_output=True, text=True)

    run("initdb", "-D", str(data), "-U", USER, f"--pwfile={base / 'pwfile'}", "--auth=scram-sha-256",
        "--encoding=UTF8", "--no-locale")
    # fsync off: a throwaway cluster; 200 connections: the daemon, code server and run workers each pool some.
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=200"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "server.log"), "-w", "-t", "60", "start")
    try:
        yield PostgresServer("127.0.0.1", port, USER, PASSWORD)
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server (Dagster creates its tables in it)."""
    return postgres_server.create_database()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_db: str) -> str:
    return postgres_server.url(postgres_db)
