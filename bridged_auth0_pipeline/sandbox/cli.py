"""`bridged-auth0 sandbox`: serve a synthetic tenant on a local port for demos and manual runs."""

from __future__ import annotations

import argparse
import sys
import time

from .server import SandboxServer
from .tenant import SandboxTenant


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridged-auth0 sandbox",
        description="Run a local emulator of the Auth0 Authentication and Management APIs.")
    parser.add_argument("--users", type=int, default=200, help="synthetic users (default 200)")
    parser.add_argument("--seed", type=int, default=7, help="generation seed (default 7)")
    parser.add_argument("--shared-timestamp-users", type=int, default=0,
                        help="users sharing one updated_at, like a bulk import")
    parser.add_argument("--logs-per-user", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    return parser


def run_sandbox(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    tenant = SandboxTenant.generate(users=args.users, seed=args.seed,
                                    shared_timestamp_users=args.shared_timestamp_users,
                                    logs_per_user=args.logs_per_user)
    server = SandboxServer(tenant, client_id=args.client_id, client_secret=args.client_secret,
                           host=args.host, port=args.port)
    try:
        server.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    secret_hint = ("sandbox-secret" if args.client_secret == "sandbox-secret"
                   else "<the value you passed to --client-secret>")
    print(f"Auth0 sandbox: {len(tenant.users)} users, {len(tenant.logs)} log events, "
          f"{len(tenant.roles)} roles (generated in {time.monotonic() - started:.1f}s)")
    print(f"Listening on {server.base_url}  (admin: {server.base_url}/__sandbox/health)")
    print("Point the pipeline at it with:")
    print(f"  AUTH0_DOMAIN={server.base_url}")
    print(f"  AUTH0_CLIENT_ID={args.client_id}")
    print(f"  AUTH0_CLIENT_SECRET={secret_hint}   # public demo credential, default sandbox-secret")
    print(f"  AUTH0_AUDIENCE={server.audience}")
    print("Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(run_sandbox())
