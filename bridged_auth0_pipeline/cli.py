"""`bridged-auth0`: the project's command line.

  bridged-auth0 sync [--tenant KEY | --all]   run auth0_sync: the AUTH0_* tenant (the built-in sandbox
                                              when AUTH0_DOMAIN is not set), one connected tenant, or all
  bridged-auth0 connect KEY --domain D ...    connect a customer's Auth0 tenant (secret on stdin)
  bridged-auth0 tenants | test KEY | disconnect KEY [--purge] | settings KEY [...]
  bridged-auth0 keygen | rotate-key           the key that encrypts stored secrets
  bridged-auth0 dev [DAGSTER DEV ARGS]        the Dagster UI and daemon (with the sandbox if no tenant is set)
  bridged-auth0 sandbox                       serve the local Auth0 sandbox in the foreground
  bridged-auth0 user ID [--tenant KEY]        "what is this user's authentication method?", live from Auth0
"""

from __future__ import annotations

import argparse
import sys

from bridged_auth0_pipeline.auth0 import Auth0Error
from bridged_auth0_pipeline.config.registry import DEFAULT_TENANT, METHODS
from bridged_auth0_pipeline.config.settings import (DATA_OBJECTS, DEFAULT_DATA_OBJECTS, FREQUENCY_CRONS, INCLUDE_METADATA,
                                                    SettingsError, SyncSettings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bridged-auth0", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="run the auth0_sync job and print row counts")
    which = sync.add_mutually_exclusive_group()
    which.add_argument("--tenant", metavar="KEY", help="sync this connected tenant (a real Dagster run)")
    which.add_argument("--all", action="store_true", help="sync every tenant, several at once, one line each")
    sync.add_argument("--parallel", type=int, default=4, help="with --all: tenants synced at once (default 4)")
    sync.add_argument("--sandbox-users", type=int, default=1000, help="tenant size when the sandbox is used")

    connect = commands.add_parser("connect", help="connect an Auth0 tenant; the secret is read from standard input")
    connect.add_argument("key", help="tenant key: lowercase letters, digits, dashes")
    connect.add_argument("--domain", required=True, help="e.g. acme.us.auth0.com")
    connect.add_argument("--client-id", help="the M2M application's Client ID (client_credentials)")
    connect.add_argument("--audience", help="Management API identifier (default https://<domain>/api/v2/)")
    connect.add_argument("--method", choices=METHODS, default="client_credentials")
    connect.add_argument("--force", action="store_true", help="store it even if the connection test fails (marked untested)")

    commands.add_parser("tenants", help="list the tenants, their settings and last sync")
    test = commands.add_parser("test", help="test a stored connection again")
    test.add_argument("key")
    disconnect = commands.add_parser("disconnect", help="remove a tenant's connection and partition")
    disconnect.add_argument("key")
    disconnect.add_argument("--purge", action="store_true", help="also delete the tenant's warehouse file")
    settings = commands.add_parser("settings", help="show or change a tenant's sync settings")
    settings.add_argument("key")
    settings.add_argument("--frequency", choices=tuple(FREQUENCY_CRONS))
    settings.add_argument("--data-objects", help=f"comma-separated subset of {','.join(DATA_OBJECTS)} "
                                                     f"(default {','.join(DEFAULT_DATA_OBJECTS)})")
    settings.add_argument("--user-filter", help="all, active, or role:<name>[,<name>…]")
    settings.add_argument("--active-days", help="the window of the active filter, in days")
    settings.add_argument("--include-metadata", choices=tuple(INCLUDE_METADATA))
    commands.add_parser("keygen", help="print a new BRIDGED_SECRET_KEY")
    commands.add_parser("rotate-key", help="re-encrypt every stored secret with the first BRIDGED_SECRET_KEY")

    commands.add_parser("dev", help="the Dagster UI and daemon (the sandbox when no tenant is configured)",
                        add_help=False)
    commands.add_parser("sandbox", help="serve the local Auth0 sandbox", add_help=False)
    user = commands.add_parser("user", help="show a user's authentication methods, live from Auth0")
    user.add_argument("user", help="an Auth0 user_id (provider|id) or an email address")
    user.add_argument("--json", action="store_true", help="machine-readable output")
    user.add_argument("--tenant", metavar="KEY", default=DEFAULT_TENANT, help="which tenant to ask (default: AUTH0_*)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "sandbox":
            from bridged_auth0_pipeline.sandbox.cli import run_sandbox

            return run_sandbox(rest)
        if args.command == "dev":
            from bridged_auth0_pipeline.commands.dev import run_dev

            return run_dev(rest)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return dispatch(args)
    except (SettingsError, Auth0Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def dispatch(args: argparse.Namespace) -> int:
    from bridged_auth0_pipeline.commands import process_groups, sync, tenants

    if args.command == "sync":
        with process_groups.terminate_as_interrupt():
            if args.tenant:
                return sync.sync_tenant(args.tenant)
            if args.all:
                return sync.sync_all(args.parallel)
            return sync.sync_environment_tenant(SyncSettings.from_env(), args.sandbox_users)
    if args.command == "connect":
        return tenants.connect(args.key, args.domain, args.client_id, args.audience, args.method, args.force)
    if args.command == "tenants":
        return tenants.list_tenants()
    if args.command == "test":
        return tenants.retest(args.key)
    if args.command == "disconnect":
        return tenants.disconnect(args.key, args.purge)
    if args.command == "settings":
        changes = {"frequency": args.frequency, "data_objects": args.data_objects, "user_filter": args.user_filter,
                   "active_days": args.active_days, "include_metadata": args.include_metadata}
        return tenants.settings(args.key, changes)
    if args.command == "keygen":
        return tenants.keygen()
    if args.command == "rotate-key":
        return tenants.rotate_key()
    from bridged_auth0_pipeline.config.tenants import TenantDirectory
    from bridged_auth0_pipeline.support.user_answer import answer_user

    # answer_user rejects a malformed id before it opens `with client`: closed here either way.
    with TenantDirectory(SyncSettings.from_env()).tenant(args.tenant).client(interactive=True) as client:
        return answer_user(args.user, client, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
