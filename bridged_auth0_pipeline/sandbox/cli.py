"""`bridged-auth0 sandbox`: serve a synthetic tenant on a local port for demos and manual runs.

It prints the pipeline's variables as `export NAME=value` lines. With `--print-env` it prints only
those lines and serves from a detached child process, because `eval "$(bridged-auth0 sandbox
--print-env)"` returns only once the command's stdout is closed and the command has exited: the
parent waits until the child listens (or failed to), prints, and exits; the child keeps serving
with no terminal until `kill $BRIDGED_SANDBOX_PID`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time

from .ratelimit import PLANS
from .server import DEMO_SCOPES, SandboxServer
from .tenant import SandboxTenant

DEFAULT_SECRET = "sandbox-secret"  # a public demo credential, like the client id


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridged-auth0 sandbox",
        description="Run a local emulator of the Auth0 Authentication and Management APIs.")
    parser.add_argument("--users", type=int, default=1000, help="synthetic users (default 1000, as `make sync`)")
    parser.add_argument("--seed", type=int, default=7, help="generation seed (default 7)")
    parser.add_argument("--shared-timestamp-users", type=int, default=0,
                        help="users sharing one updated_at, like a bulk import")
    parser.add_argument("--logs-per-user", type=int, default=2)
    parser.add_argument("--organizations", type=int, default=0,
                        help="organizations with members and member roles, for the `organizations` data object "
                             "(default 0, as `make sync`)")
    parser.add_argument("--plan", choices=sorted(PLANS),
                        help="Auth0's Management API rate limits of this plan: essentials (= professional) limits "
                             "each endpoint group on its own (read users 40 burst/500 per min, read logs 10/100, "
                             "organizations 5/50, the rest 10/150); free (2/2 per s) and enterprise (50/16 per s) "
                             "have one tenant-wide bucket. Default: no practical limit")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default=DEFAULT_SECRET)
    parser.add_argument("--print-env", action="store_true",
                        help="print only the `export` lines and serve in the background: "
                             "eval \"$(bridged-auth0 sandbox --print-env)\"; stop it with kill $BRIDGED_SANDBOX_PID")
    return parser


def export_lines(server: SandboxServer, args: argparse.Namespace, pid: int | None = None) -> list[str]:
    """Shell lines that point the pipeline at `server`. A secret of your own is never echoed."""
    lines = [f"export AUTH0_DOMAIN={shlex.quote(server.base_url)}",
             f"export AUTH0_CLIENT_ID={shlex.quote(args.client_id)}"]
    if args.client_secret == DEFAULT_SECRET:
        lines.append(f"export AUTH0_CLIENT_SECRET={DEFAULT_SECRET}")
    else:
        lines.append("# export AUTH0_CLIENT_SECRET=<the value you passed to --client-secret>")
    lines.append(f"export AUTH0_AUDIENCE={shlex.quote(server.audience)}")
    if pid is not None:
        lines.append(f"export BRIDGED_SANDBOX_PID={pid}  # stop the sandbox with: kill $BRIDGED_SANDBOX_PID")
    return lines


def start_server(args: argparse.Namespace) -> tuple[SandboxServer, SandboxTenant, float]:
    started = time.monotonic()
    tenant = SandboxTenant.demo(users=args.users, seed=args.seed, shared_timestamp_users=args.shared_timestamp_users,
                                logs_per_user=args.logs_per_user, organizations=args.organizations)
    server = SandboxServer(tenant, client_id=args.client_id, client_secret=args.client_secret,
                           host=args.host, port=args.port, rate_limit=args.plan, scopes=DEMO_SCOPES)
    server.start()  # OSError when the port is taken
    return server, tenant, time.monotonic() - started


def run_sandbox(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.print_env:
        return _serve_detached(args)
    try:
        server, tenant, seconds = start_server(args)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    plan = f", {args.plan} plan rate limits" if args.plan else ""
    organizations = f", {len(tenant.organizations.by_id)} organizations" if tenant.organizations.by_id else ""
    print(f"Auth0 sandbox: {len(tenant.users)} users, {len(tenant.logs)} log events, "
          f"{len(tenant.roles)} roles{organizations} (generated in {seconds:.1f}s){plan}")
    print(f"Listening on {server.base_url}  (admin: {server.base_url}/__sandbox/health)")
    print("Point the pipeline at it with:")
    for line in export_lines(server, args):
        print(f"  {line}")
    print("Ctrl-C to stop.", flush=True)
    # Ctrl-C stops it even when started in the background of a non-interactive shell, which makes
    # the process inherit SIGINT as ignored (Python then installs no KeyboardInterrupt handler).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        server.stop()
    return 0


def _serve_detached(args: argparse.Namespace) -> int:
    """Fork; the child serves and reports readiness through a pipe; the parent prints and exits."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:  # the parent: wait for the child's first word, print the exports, return
        os.close(write_end)
        with os.fdopen(read_end) as ready:
            word = ready.read()
        if not word.startswith("ok "):
            os.waitpid(pid, 0)
            print(word or "the sandbox exited before it listened", file=sys.stderr)
            return 1
        print(word[3:], end="", flush=True)
        return 0
    os.close(read_end)
    os.setsid()  # no terminal: Ctrl-C in the shell that ran eval does not reach it
    try:
        server, _, _ = start_server(args)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which exits 1
        os.write(write_end, f"cannot start the sandbox on {args.host}:{args.port}: {exc}".encode())
        os._exit(1)
    os.write(write_end, ("ok " + "\n".join(export_lines(server, args, os.getpid())) + "\n").encode())
    os.close(write_end)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # close the eval's pipe: `$(...)` sees end of file
        os.dup2(devnull, fd)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(run_sandbox())
