"""`bridged-auth0`: the project's command line.

  bridged-auth0 sync      run the auth0_sync job through `dagster job execute` (the built-in
                          sandbox stands in for Auth0 when AUTH0_DOMAIN is not set), then print
                          the warehouse's row counts
  bridged-auth0 sandbox   serve the local Auth0 sandbox in the foreground
  bridged-auth0 user ID   answer "what is this user's authentication method?" live from Auth0
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

from bridged_auth0_pipeline.auth0 import Auth0Error
from bridged_auth0_pipeline.orchestration.settings import SettingsError, SyncSettings

DEMO_USERS = 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bridged-auth0", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="run the auth0_sync job and print row counts")
    sync.add_argument("--sandbox-users", type=int, default=DEMO_USERS, help="tenant size when the sandbox is used")
    commands.add_parser("sandbox", help="serve the local Auth0 sandbox", add_help=False)
    user = commands.add_parser("user", help="show a user's authentication methods, live from Auth0")
    user.add_argument("user", help="an Auth0 user_id (provider|id) or an email address")
    user.add_argument("--json", action="store_true", help="machine-readable output")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "sandbox":
            from bridged_auth0_pipeline.sandbox.cli import run_sandbox

            return run_sandbox(rest)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        settings = SyncSettings.from_env()
        if args.command == "sync":
            return run_sync(settings, args.sandbox_users)
        from bridged_auth0_pipeline.support.user_answer import answer_user

        return answer_user(args.user, settings, as_json=args.json)
    except (SettingsError, Auth0Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run_sync(settings: SyncSettings, sandbox_users: int) -> int:
    env = dict(os.environ)
    server = None
    if not env.get("AUTH0_DOMAIN"):
        from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant

        secret = secrets.token_urlsafe(24)  # a throwaway credential, handed to the job in its environment only
        server = SandboxServer(SandboxTenant.generate(users=sandbox_users, seed=7), client_secret=secret)
        server.__enter__()
        env.update(AUTH0_DOMAIN=server.base_url, AUTH0_CLIENT_ID=server.client_id, AUTH0_CLIENT_SECRET=secret)
        env.pop("AUTH0_AUDIENCE", None)
        print(f"AUTH0_DOMAIN is not set: syncing the built-in sandbox tenant ({sandbox_users} users) at {server.base_url}")
    try:
        dagster = Path(sys.executable).with_name("dagster")
        command = [str(dagster), "job", "execute", "-m", "bridged_auth0_pipeline.definitions", "-j", "auth0_sync"]
        returncode = subprocess.call(command, env=env)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    if returncode != 0:
        print(f"auth0_sync failed (exit {returncode}); the warehouse keeps its last consistent state.", file=sys.stderr)
        return returncode
    print_row_counts(settings.duckdb_path)
    return 0


def print_row_counts(duckdb_path: str) -> None:
    import duckdb

    with duckdb.connect(duckdb_path, read_only=True) as con:
        relations = con.execute(
            """SELECT table_schema || '.' || table_name FROM information_schema.tables
               WHERE table_schema IN ('auth0', 'playbooks') AND table_name NOT LIKE '\\_%' ESCAPE '\\'
               ORDER BY table_type, table_schema, table_name"""
        ).fetchall()
        print(f"\nWarehouse {duckdb_path}:")
        for (name,) in relations:
            print(f"  {name:<36} {con.execute(f'SELECT count(*) FROM {name}').fetchone()[0]:>10,} rows")


if __name__ == "__main__":
    sys.exit(main())
